package attach

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/dump"
	"github.com/wakeshim/wakeshim/internal/live"
	"github.com/wakeshim/wakeshim/internal/metrics"
	"github.com/wakeshim/wakeshim/internal/rotate"
	"github.com/wakeshim/wakeshim/tracewire"
)

// run is one attach run: one converter (a new one only when the target
// restarted) writing to one series of files.
type run struct {
	cfg    Config
	tgt    target
	out    *rotate.Files
	client *http.Client
	c      *convert.Converter
	lv     live.Ops // c's live hooks
	tr     *metrics.Tracker

	sum  Summary
	base convert.Stats // counts of the converters closed at restarts
	// reached: a window was received whole, so the URL is a pprof
	// server; failures from then on are taken as transient (a restart).
	reached bool
	// restart: the connection failed since the last window; the target
	// may be a new process (ids and clock start over).
	restart bool

	flushed  time.Time
	reported time.Time
	// The end of the last window: its last event, and when its body
	// ended here (to place the next dump on the trace's clock).
	endT    exptrace.Time
	endWall time.Time
	asked   int // windows asked for
	// leakNext: when the next goroutineleak profile is due; noLeak: the
	// target does not serve one.
	leakNext time.Time
	noLeak   bool
}

func (r *run) log(format string, args ...any) { r.cfg.Log(fmt.Sprintf(format, args...)) }

// ignore leaves out the runtime's goroutines and the one serving our own
// trace request (it sleeps in net/http/pprof.Trace for the whole window).
func ignore(id convert.GoID, stk convert.Stack) bool {
	if convert.SystemGoroutine(id, stk) {
		return true
	}
	for f := range stk.Frames() {
		if f.Func == "net/http/pprof.Trace" {
			return true
		}
	}
	return false
}

func (r *run) newConverter() error {
	var lv live.Ops
	c, err := convert.New(convert.Config{Threshold: r.cfg.Threshold, Ignore: ignore, Live: &lv}, r.tr.Wrap(r.out))
	if err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	r.c, r.lv = c, lv
	return nil
}

// restartConverter ends the converter of a process that is gone (its
// blocks in progress reported up to its last event) and starts a new one
// in a new file.
func (r *run) restartConverter() error {
	if err := r.c.Close(); err != nil && !errors.Is(err, convert.ErrClosed) {
		return fmt.Errorf("attach: writing the records: %w", err)
	}
	st := r.c.Stats()
	r.base.Events += st.Events
	for i := range st.Records {
		r.base.Records[i] += st.Records[i]
	}
	if r.out.Open() {
		r.out.NextSegment()
	}
	r.tr.NewProcess()
	r.sum.Restarts++
	return r.newConverter()
}

// update copies the counts to the summary.
func (r *run) update() {
	st := r.c.Stats()
	r.sum.Events = r.base.Events + st.Events
	r.sum.Records, r.sum.Wakes, r.sum.Pending = r.base.TotalRecords()+st.TotalRecords(),
		r.base.Wakes()+st.Wakes(), r.base.Pending()+st.Pending()
	r.sum.Wall = time.Since(r.sum.Start)
	names := r.out.Names()
	r.sum.Files = 0
	for _, n := range names {
		if strings.HasSuffix(n, ".bin") {
			r.sum.Files++
			if r.sum.FirstFile == "" {
				r.sum.FirstFile = n
			}
			r.sum.LastFile = n
		}
	}
	r.sum.FilesRemoved = r.out.Removed()
	r.sum.BytesWritten = r.out.BytesWritten()
	r.sum.RecordsDropped = r.out.Dropped()
}

func (r *run) progress(force bool) {
	if now := time.Now(); force || now.Sub(r.reported) >= 250*time.Millisecond {
		r.reported = now
		r.tr.Publish() // (the metrics, as often)
		if r.cfg.Progress == nil {
			return
		}
		r.update()
		r.cfg.Progress(r.sum)
	}
}

// cut reports whether Config.Cut is closed.
func (r *run) cut() bool {
	select {
	case <-r.cfg.Cut:
		return true
	default:
		return false
	}
}

// sleep waits d, or until ctx is done or Cut closed (false).
func (r *run) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil && !r.cut()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-r.cfg.Cut:
		return false
	}
}

func (r *run) loop(ctx context.Context) error {
	start := r.sum.Start
	end := time.Time{}
	if r.cfg.For > 0 {
		end = start.Add(r.cfg.For)
	}
	retries := max(r.cfg.Retries, 0)
	fails := 0
	backoff := r.cfg.Backoff
	next := start
	for {
		if ctx.Err() != nil || r.cut() {
			return nil
		}
		if !r.sleep(ctx, time.Until(next)) {
			return nil
		}
		now := time.Now()
		w := r.cfg.Window
		if !end.IsZero() {
			if rem := end.Sub(now); rem < w {
				w = rem.Truncate(time.Millisecond)
			}
			if w < MinWindow {
				return nil
			}
		}
		if r.cfg.Every > 0 {
			next = now.Add(r.cfg.Every)
		}
		err := r.take(ctx, w)
		if err == nil {
			fails, backoff = 0, r.cfg.Backoff
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			return err // the output failed
		}
		r.sum.Failures++
		if r.cut() {
			r.log("%s", e)
			return nil
		}
		if !e.Transient {
			return e
		}
		if fails++; fails > retries {
			return fmt.Errorf("%w after %d failures in a row: %w", ErrGaveUp, fails, e)
		}
		wait := backoff
		if !end.IsZero() && time.Now().Add(wait).After(end) {
			r.log("%s; not retried: -for ends first", e)
			return nil
		}
		r.log("%s; retrying in %v (%d of %d)", e, wait, fails, retries)
		r.sum.Retried++
		if !r.sleep(ctx, wait) {
			return nil
		}
		backoff = min(2*backoff, maxBackoff)
		next = time.Now()
	}
}

// take takes one window (and the dump before it, with Dumps; a window
// whose dump was being fetched when ctx was done is not asked for).
func (r *run) take(ctx context.Context, w time.Duration) error {
	var d *pendingDump
	if r.cfg.Dumps {
		var err error
		if d, err = r.fetchDump(); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
	return r.window(w, d)
}

// request starts a GET of u with deadline d from now, cut short when
// Config.Cut closes. cancel must be called when done with the response.
func (r *run) request(u string, d time.Duration) (*http.Response, context.Context, context.CancelFunc, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	if r.cfg.Cut != nil {
		go func() {
			select {
			case <-r.cfg.Cut:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, nil, nil, &Error{URL: u, What: err.Error(), Err: err}
	}
	for k, vs := range r.cfg.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	resp, err := r.client.Do(req)
	if err != nil {
		cancel()
		return nil, nil, nil, r.transportError(u, ctx, err, d)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		defer resp.Body.Close()
		return nil, nil, nil, statusError(u, resp)
	}
	return resp, ctx, cancel, nil
}

// transportError describes a request that got no answer.
func (r *run) transportError(u string, ctx context.Context, err error, d time.Duration) *Error {
	e := &Error{URL: u, Err: err, Transient: true}
	switch {
	case r.cut():
		e.What = "cut (interrupted)"
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		e.What = fmt.Sprintf("no answer within %v (timeout)", d.Round(time.Millisecond))
	case isRefused(err):
		e.What = "cannot connect: " + rootCause(err)
		// Before any window: a wrong address, not worth retrying. After
		// one: the target restarting.
		e.Transient = r.reached
		r.restart = r.reached
	default:
		e.What = "request failed: " + rootCause(err)
	}
	return e
}

// rootCause is err's innermost message ("connection refused").
func rootCause(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// statusError describes an answer other than 200 OK.
func statusError(u string, resp *http.Response) *Error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	text := strings.TrimSpace(string(b))
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	if !isPrintable(text) {
		text = ""
	}
	e := &Error{URL: u, Status: resp.StatusCode}
	st := resp.Status
	switch c := resp.StatusCode; {
	case c == http.StatusNotFound:
		e.What, e.Err = st+": no net/http/pprof handler here (is it the pprof address, and its /debug/pprof/ prefix?)", ErrNotPprof
	case c == http.StatusUnauthorized || c == http.StatusForbidden:
		e.What = st + ": not allowed (an authorization header? -header)"
	case c == http.StatusInternalServerError && strings.HasPrefix(text, "Could not enable tracing"):
		e.What, e.Err, e.Transient = st+": a trace is already running in the target ("+text+")", ErrTraceBusy, true
	case c >= 500 || c == http.StatusTooManyRequests || c == http.StatusRequestTimeout:
		e.What, e.Transient = st, true
	default:
		e.What = st
	}
	if text != "" && e.Err != ErrTraceBusy {
		e.What += ": " + clip(text, 120)
	}
	return e
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r < ' ' && r != '\t' || r == 0x7f || r == '\uFFFD' {
			return false
		}
	}
	return true
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// pendingDump is a goroutine dump waiting for its window's first event.
type pendingDump struct {
	text []byte
	gs   []live.Sampled
	got  time.Time // when its body was read whole
}

// fetchDump fetches /debug/pprof/goroutine?debug=2. A body that is not a
// debug=2 dump is reported and the window goes on without it.
func (r *run) fetchDump() (*pendingDump, error) {
	u := r.tgt.prefix + "goroutine?debug=2"
	resp, ctx, cancel, err := r.request(u, r.cfg.Timeout)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDump+1))
	if err != nil {
		e := r.transportError(u, ctx, err, r.cfg.Timeout)
		e.What = fmt.Sprintf("goroutine dump cut after %d bytes: %s", len(b), e.What)
		return nil, e
	}
	if len(b) > maxDump {
		r.log("%s: goroutine dump larger than %d MB: left out", u, maxDump>>20)
		return nil, nil
	}
	d, err := parseDump(b, u)
	if err != nil {
		r.log("%s: not a goroutine dump (%v): left out", u, err)
		return nil, nil
	}
	if !d.HasIDs() {
		r.log("%s: a goroutine dump without goroutine ids (%v): left out", u, d.Form)
		return nil, nil
	}
	r.sum.DumpBytes += int64(len(b))
	return &pendingDump{text: b, gs: live.FromDump(d, nil), got: time.Now()}, nil
}

// fetchLeak fetches the goroutineleak profile (debug=2) after a window,
// when one is due, and keeps it beside the current records file. It never
// fails the run: a target without the profile (404: a Go before 1.27
// without GOEXPERIMENT=goroutineleakprofile) is noted once and not asked
// again; any other failure is logged and tried again at the next window.
func (r *run) fetchLeak() {
	if r.cfg.LeakProfile < 0 || r.noLeak || !r.out.Open() || time.Now().Before(r.leakNext) {
		return
	}
	r.leakNext = time.Now().Add(r.cfg.LeakProfile)
	u := r.tgt.prefix + "goroutineleak?debug=2"
	resp, ctx, cancel, err := r.request(u, r.cfg.Timeout)
	if err != nil {
		if e := new(Error); errors.As(err, &e) && e.Status == http.StatusNotFound {
			r.noLeak = true
			r.log("%s: the target serves no goroutineleak profile (it needs Go 1.27, or 1.26 with GOEXPERIMENT=goroutineleakprofile): no proof of leaks in the records", u)
			return
		}
		r.log("goroutineleak profile: %v; tried again after the next window", err)
		return
	}
	defer cancel()
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxDump+1))
	if err != nil {
		r.log("goroutineleak profile: %s", r.transportError(u, ctx, err, r.cfg.Timeout))
		return
	}
	if len(b) > maxDump {
		r.log("%s: goroutineleak profile larger than %d MB: left out", u, maxDump>>20)
		return
	}
	d, err := parseDump(b, u)
	if err != nil || !d.HasIDs() {
		if err == nil {
			err = fmt.Errorf("no goroutine ids (%v)", d.Form)
		}
		r.noLeak = true
		r.log("%s: not a debug=2 goroutineleak profile (%v): not asked for again", u, err)
		return
	}
	if err := r.out.WriteLeak(b); err != nil {
		r.log("keeping the goroutineleak profile: %v", err)
		return
	}
	r.sum.LeakProfiles++
}

// parseDump parses a dump, turning a panic of the parser into an error:
// nothing the server sends may take attach down.
func parseDump(b []byte, name string) (d *dump.Dump, err error) {
	defer func() {
		if p := recover(); p != nil {
			d, err = nil, fmt.Errorf("dump parser panicked: %v", p)
		}
	}()
	d, err = dump.ParseBytes(b, name)
	if err == nil && d == nil {
		err = errors.New("empty")
	}
	return d, err
}

// body counts the bytes read and keeps the read error, to tell a body cut
// short from a trace the parser rejects.
type body struct {
	r   io.Reader
	n   int64
	err error
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// flushEvery is how often the files are flushed while a window streams
// in: a crash of attach loses at most this much (and rotate's LiveAge,
// 2s, sees the file as live).
const flushEvery = time.Second

// window takes one window of w: asks for it and converts it as it
// arrives. It returns nil for a window received whole or cut by Cut; an
// *Error otherwise (the records of what came are kept), or the output's
// error.
func (r *run) window(w time.Duration, d *pendingDump) error {
	u := r.tgt.prefix + "trace?seconds=" + strconv.FormatFloat(w.Seconds(), 'f', -1, 64)
	limit := w + r.cfg.Timeout
	r.asked++
	r.sum.Window = r.asked
	r.sum.WindowBytes, r.sum.WindowStart, r.sum.WindowLen = 0, time.Now(), w
	defer func() { r.sum.Window = 0 }()
	r.progress(true)
	resp, ctx, cancel, err := r.request(u, limit)
	if err != nil {
		return err
	}
	defer cancel()
	defer resp.Body.Close()
	b := &body{r: resp.Body}
	// The converter's own decoder, or x/exp's parser for a trace of
	// another format version (counted in the summary).
	tr, fellBack, err := tracewire.NewReader(b, false)
	if fellBack {
		r.sum.ParserFallbacks++
	}
	if err != nil {
		return r.bodyError(u, ctx, b, err, limit, false)
	}
	var first, last exptrace.Time
	n := 0
	for {
		ev, err := tr.Next()
		r.sum.WindowBytes = b.n
		if err != nil {
			if n > 0 {
				r.sum.Traced += time.Duration(last - first)
				r.endT, r.endWall = last, time.Now()
			}
			r.sum.TraceBytes += b.n
			if ferr := r.endWindow(w); ferr != nil {
				return ferr
			}
			if n > 0 {
				r.fetchLeak()
			}
			if err == io.EOF {
				r.reached = true
				r.sum.Complete++
				r.progress(true)
				return nil
			}
			if n > 0 {
				r.sum.Cut++
				r.reached = true // a trace came: the URL is right
			}
			if r.cut() {
				r.log("%s: window cut (interrupted) after %d bytes; the records of its complete part are kept", u, b.n)
				return nil
			}
			return r.bodyError(u, ctx, b, err, limit, n > 0)
		}
		t := ev.Time
		if n == 0 {
			if err := r.startWindow(t, d); err != nil {
				return err
			}
			first = t
			r.sum.Windows++
		}
		n++
		if err := r.lv.Consume(ev); err != nil {
			return fmt.Errorf("attach: writing the records: %w", err)
		}
		last = t
		if n == 1 {
			r.progress(true) // the window is coming in
		}
		if d != nil && r.out.Open() {
			if err := r.out.WriteDump(d.text); err != nil {
				r.log("keeping the goroutine dump: %v", err)
			}
			d = nil
		}
		if r.out.Full() {
			if err := r.c.Rotate(); err != nil {
				return fmt.Errorf("attach: writing the records: %w", err)
			}
		}
		if n%256 == 0 {
			if now := time.Now(); now.Sub(r.flushed) >= flushEvery {
				r.flushed = now
				r.out.Flush()
			}
			r.progress(false)
		}
	}
}

// startWindow prepares the converter for a window whose first event is
// at t: a new converter if the target restarted (the connection failed
// since the last window, or its clock ran back), then the dump taken
// before the window, applied alone (no trace covers it) at its time in the
// gap, then the gap up to t. The blocks in progress at the last window's
// end are carried on (convert's Gap): the dump confirms them or, if it
// no longer shows them, ends them; the goroutines it shows blocked that
// the converter does not know start a block at the dump (a lower bound).
func (r *run) startWindow(t exptrace.Time, d *pendingDump) error {
	if last := r.lv.LastTime(); last > 0 && (r.restart || t < last) {
		r.log("%s: the target seems to have restarted (%s): records go on in a new file", r.tgt.prefix,
			map[bool]string{true: "its connection failed", false: "its clock ran back"}[r.restart])
		if err := r.restartConverter(); err != nil {
			return err
		}
	}
	r.restart = false
	r.tr.Gap() // (a new window: the dump's records begin it)
	if d != nil {
		if err := r.lv.ApplyDump(r.dumpTime(t, d), d.gs, true); err != nil {
			return fmt.Errorf("attach: writing the records: %w", err)
		}
		r.sum.Dumps++
	}
	r.lv.Gap(t)
	return nil
}

// dumpTime places dump d, taken before the window whose first event is at
// t, on the trace's clock: the last window's last event plus the time
// from the end of its body to the end of the dump's, here (no wall clock
// of the target is needed: the two ends are measured on one clock, ours).
// That is at or after the moment the target took the dump (its body had
// arrived), so a block the dump shows counts from no earlier than the
// dump, and one it no longer shows is ended no earlier than it ended; and
// never after t. Before the first window (or after a restart) it is t.
func (r *run) dumpTime(t exptrace.Time, d *pendingDump) exptrace.Time {
	last := r.lv.LastTime()
	if r.endWall.IsZero() || last != r.endT || d.got.Before(r.endWall) {
		return t
	}
	return max(last, min(t, r.endT+exptrace.Time(d.got.Sub(r.endWall))))
}

// endWindow writes, at the end of a window, the ages of the blocks still
// in progress that have lasted at least the window (1s at least): the
// files then have them while the gap lasts. It flushes the files.
func (r *run) endWindow(w time.Duration) error {
	n, err := r.lv.Refresh(max(w, time.Second), RefreshStep)
	if err != nil {
		return fmt.Errorf("attach: writing the records: %w", err)
	}
	r.sum.Refreshed += int64(n)
	r.out.Flush()
	r.flushed = time.Now()
	if err := r.out.Failed(); err != nil {
		r.log("writing the records failed: %v; records were dropped; trying a new file", err)
		if err := r.c.Rotate(); err != nil {
			return fmt.Errorf("attach: writing the records: %w", err)
		}
	}
	return nil
}

// bodyError describes a window that did not end well after a 200 OK.
func (r *run) bodyError(u string, ctx context.Context, b *body, err error, limit time.Duration, some bool) *Error {
	kept := "nothing of it could be converted"
	if some {
		kept = "the records of its complete part are kept"
	}
	if b.err != nil {
		e := r.transportError(u, ctx, b.err, limit)
		e.What = fmt.Sprintf("window cut after %d bytes (%s); %s", b.n, e.What, kept)
		e.Transient = true
		return e
	}
	e := &Error{URL: u, Err: &convert.TraceError{Offset: b.n, Err: err}, Transient: r.reached || some}
	e.What = fmt.Sprintf("bad execution trace at or before byte %d: %v; %s", b.n, err, kept)
	if !some && b.n < 64 && !r.reached {
		e.What = fmt.Sprintf("not an execution trace (%v)", err)
	}
	return e
}
