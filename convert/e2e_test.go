package convert

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/format"
)

// The traces under ../testdata/traces are made by the programs in
// ../testdata/progs (go generate ./... at the repository root); each comes
// with a JSON file of facts, goroutine ids among them, that the program
// recorded about itself.

func traceFile(name string) string { return filepath.Join("..", "testdata", "traces", name) }

func facts(t *testing.T, name string, v any) {
	b, err := os.ReadFile(traceFile(name + ".json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}

func convertFile(t *testing.T, name string, cfg Config) *capture {
	f, err := os.Open(traceFile(name + ".trace"))
	require.NoError(t, err)
	defer f.Close()
	out := newCapture(t)
	_, err = Convert(f, cfg, out, nil)
	require.NoError(t, err)
	return out
}

// pendingOf returns the TaskPending records of goroutine id, with their
// frames resolved.
func pendingOf(out *capture, id uint32) (recs []format.Record, frames [][]string) {
	for i, seg := range out.segs {
		for _, r := range seg {
			if r.Code == format.CodeTaskPending && r.Task == id {
				recs = append(recs, r)
				frames = append(frames, out.frames(i, r))
			}
		}
	}
	return recs, frames
}

// wakes counts the WakeEvents of woken by waker.
func wakes(out *capture, waker, woken uint32) int {
	n := 0
	for _, r := range out.all(format.CodeWakeEvent) {
		if r.Waker == waker && r.Task == woken {
			n++
		}
	}
	return n
}

func hasFunc(frames []string, fn string) bool {
	return slices.ContainsFunc(frames, func(f string) bool { return strings.HasPrefix(f, fn+" ") })
}

func TestPingPong(t *testing.T) {
	var f struct {
		A, B   uint32
		Rounds int
	}
	facts(t, "pingpong", &f)
	out := convertFile(t, "pingpong", Config{})
	// Every round blocks one of the two on an unbuffered channel and the
	// other wakes it: A wakes B and B wakes A, once per round each (the
	// first and last rounds may differ by one).
	assert.GreaterOrEqual(t, wakes(out, f.A, f.B), f.Rounds-1, "A woke B")
	assert.GreaterOrEqual(t, wakes(out, f.B, f.A), f.Rounds-1, "B woke A")
	for _, r := range out.all(format.CodeWakeEvent) {
		if r.Task == f.A || r.Task == f.B {
			assert.Contains(t, []uint32{f.A, f.B}, r.Waker, "only the partner wakes a ping-pong goroutine: %+v", r)
			assert.NotEqual(t, uint8(format.NoWorker), r.Worker)
		}
	}
}

func TestMutex(t *testing.T) {
	var f struct {
		Holder, Waiter  uint32
		Func            string
		HoldAfterParkMS float64 `json:"measured_hold_after_park_ms"`
	}
	facts(t, "mutex", &f)
	out := convertFile(t, "mutex", Config{})
	assert.Equal(t, 1, wakes(out, f.Holder, f.Waiter), "the holder's Unlock wakes the waiter")
	recs, frames := pendingOf(out, f.Waiter)
	require.Len(t, recs, 1)
	assert.GreaterOrEqual(t, float64(recs[0].Duration)/1000, f.HoldAfterParkMS, "pending at least as long as the mutex was held after it parked")
	assert.Equal(t, "[sync.Mutex.Lock]", frames[0][0], "wait reason pseudo-frame")
	assert.True(t, strings.HasPrefix(frames[0][1], "sync.(*Mutex).Lock "), "innermost real frame: %q", frames[0][1])
	assert.True(t, hasFunc(frames[0], f.Func), "frames %q name %s", frames[0], f.Func)
}

func TestSleep(t *testing.T) {
	var f struct {
		Sleeper uint32
		SleepMS float64 `json:"sleep_ms"`
		Func    string
	}
	facts(t, "sleep", &f)
	out := convertFile(t, "sleep", Config{})
	assert.Equal(t, 1, wakes(out, 0, f.Sleeper), "a timer wake has no waker goroutine")
	recs, frames := pendingOf(out, f.Sleeper)
	require.Len(t, recs, 1)
	assert.GreaterOrEqual(t, float64(recs[0].Duration)/1000, f.SleepMS)
	assert.Equal(t, []string{"[sleep]"}, frames[0][:1])
	assert.True(t, hasFunc(frames[0], "time.Sleep") && hasFunc(frames[0], f.Func), "frames %q", frames[0])

	// With a threshold above the sleep, it is not pending.
	out = convertFile(t, "sleep", Config{Threshold: 1 << 40})
	recs, _ = pendingOf(out, f.Sleeper)
	assert.Empty(t, recs)
}

func TestBlockedBeforeTraceStart(t *testing.T) {
	type g struct {
		ID       uint32
		Func     string
		Released bool
		Waker    uint32
	}
	var f struct {
		P1, P2, P3      g
		TracedBeforeRel float64 `json:"traced_before_release_ms"`
	}
	facts(t, "preblocked", &f)
	out := convertFile(t, "preblocked", Config{})
	for _, p := range []g{f.P1, f.P2} {
		assert.Equal(t, 1, wakes(out, p.Waker, p.ID), "goroutine %d woken by %d", p.ID, p.Waker)
		recs, frames := pendingOf(out, p.ID)
		require.Len(t, recs, 1, "goroutine %d", p.ID)
		// Blocked since before the trace: pending at least from the trace's
		// start to its release, and why is unknown to the trace.
		assert.GreaterOrEqual(t, float64(recs[0].Duration)/1000, f.TracedBeforeRel*0.9, "goroutine %d", p.ID)
		assert.Equal(t, "[unknown]", frames[0][0])
	}
	// P3 never unblocks: pending at the end of the trace, with the stack the
	// tracer gave when it restated the goroutine at the generation's end.
	recs, frames := pendingOf(out, f.P3.ID)
	require.Len(t, recs, 1)
	assert.GreaterOrEqual(t, float64(recs[0].Duration)/1000, f.TracedBeforeRel*0.9)
	assert.True(t, hasFunc(frames[0], f.P3.Func), "frames %q name %s", frames[0], f.P3.Func)
}

func TestFlightRecorderSnapshot(t *testing.T) {
	var f struct {
		Pairs []struct {
			A, B   uint32
			Rounds int
		}
		Sleeper     uint32
		SleeperFunc string  `json:"sleeper_func"`
		NapMS       float64 `json:"nap_ms"`
	}
	facts(t, "flightrec", &f)
	out := convertFile(t, "flightrec", Config{})
	// The snapshot starts mid-run: the pairs were created before it, and
	// their wakes are all there is to see of them.
	for _, p := range f.Pairs {
		assert.Positive(t, wakes(out, p.A, p.B), "pair %d/%d", p.A, p.B)
		assert.Positive(t, wakes(out, p.B, p.A), "pair %d/%d", p.A, p.B)
	}
	assert.Positive(t, wakes(out, 0, f.Sleeper), "the sleeper is woken by its timer")
	assert.NotEmpty(t, out.all(format.CodePollStart))

	// The sleeper's naps: one pending per nap, each at least the nap and
	// far less than a generation (50ms here), naming the function. The
	// first may have begun before the snapshot: its reason is unknown.
	recs, frames := pendingOf(out, f.Sleeper)
	require.NotEmpty(t, recs)
	for i, r := range recs {
		assert.GreaterOrEqual(t, float64(r.Duration)/1000, f.NapMS, "nap %d", i)
		assert.Less(t, float64(r.Duration)/1000, 10*f.NapMS, "nap %d: a block cut or merged at a generation boundary", i)
		if frames[i][0] != "[unknown]" {
			assert.Equal(t, "[sleep]", frames[i][0])
			assert.True(t, hasFunc(frames[i], f.SleeperFunc), "nap %d: %q", i, frames[i])
		}
	}
	assert.GreaterOrEqual(t, len(recs), 5, "naps of the snapshot's ~150ms")
}

// TestPendingAtWake checks on every testdata trace that a TaskPending is
// written when its goroutine is woken, with the wake, at the same time: or
// when it leaves a syscall, or at the end of the trace. A block cut at a
// generation boundary would break this.
func TestPendingAtWake(t *testing.T) {
	for _, name := range []string{"pingpong", "mutex", "sleep", "preblocked", "flightrec"} {
		t.Run(name, func(t *testing.T) {
			out := convertFile(t, name, Config{})
			var last uint32
			for _, seg := range out.segs {
				for _, r := range seg {
					last = max(last, r.TS)
				}
			}
			for si, seg := range out.segs {
				woken := map[[2]uint32]bool{}
				for _, r := range seg {
					if r.Code == format.CodeWakeEvent {
						woken[[2]uint32{r.TS, r.Task}] = true
					}
				}
				for _, r := range seg {
					if r.Code != format.CodeTaskPending || woken[[2]uint32{r.TS, r.Task}] || r.TS == last {
						continue
					}
					assert.Equal(t, "[syscall]", out.frames(si, r)[0], "pending with no wake: %+v", r)
				}
			}
		})
	}
}

// TestRoundTrips converts every testdata trace to binary and JSONL and
// checks that each renders to the other exactly.
func TestRoundTrips(t *testing.T) {
	names, err := filepath.Glob(traceFile("*.trace"))
	require.NoError(t, err)
	require.NotEmpty(t, names)
	for _, name := range names {
		if filepath.Base(name) == "busy.trace" {
			continue // the benchmark's trace, when present
		}
		t.Run(filepath.Base(name), func(t *testing.T) {
			in, err := os.ReadFile(name)
			require.NoError(t, err)
			var bin, jsonl bytes.Buffer
			bw, err := format.NewWriter(&bin)
			require.NoError(t, err)
			_, err = Convert(bytes.NewReader(in), Config{}, oneSegment{format.MultiWriter(bw, format.NewJSONLWriter(&jsonl))}, nil)
			require.NoError(t, err)

			// binary -> JSONL gives the converter's JSONL.
			r, err := format.NewReader(bytes.NewReader(bin.Bytes()))
			require.NoError(t, err)
			var rendered bytes.Buffer
			copyRecords(t, r.Next, format.NewJSONLWriter(&rendered))
			assert.Equal(t, jsonl.String(), rendered.String())

			// JSONL -> binary gives the same bytes.
			var back bytes.Buffer
			bw2, err := format.NewWriter(&back)
			require.NoError(t, err)
			copyRecords(t, format.NewJSONLReader(&jsonl).Next, bw2)
			assert.Equal(t, bin.Bytes(), back.Bytes())
		})
	}
}

type oneSegment struct{ format.RecordWriter }

func (oneSegment) NextSegment() error { return errors.New("unexpected new segment") }

func copyRecords(t *testing.T, next func() (format.Record, error), w format.RecordWriter) {
	for {
		rec, err := next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		require.NoError(t, w.WriteRecord(&rec))
	}
	require.NoError(t, w.Close())
}

// TestTruncatedTrace cuts a real trace at many points: the conversion never
// panics, reports the damage as a TraceError, and whatever it wrote before
// decodes.
func TestTruncatedTrace(t *testing.T) {
	in, err := os.ReadFile(traceFile("flightrec.trace"))
	require.NoError(t, err)
	full := convertBytes(t, in)
	for _, cut := range []int{0, 10, 100, len(in) / 3, len(in) / 2, len(in) - 1} {
		var bin bytes.Buffer
		bw, err := format.NewWriter(&bin)
		require.NoError(t, err)
		_, err = Convert(bytes.NewReader(in[:cut]), Config{}, oneSegment{bw}, nil)
		require.Error(t, err, "cut at %d", cut)
		assert.True(t, IsTraceError(err), "cut at %d: %v", cut, err)
		r, err := format.NewReader(&bin)
		require.NoError(t, err)
		n := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			n++
		}
		assert.LessOrEqual(t, n, full, "cut at %d", cut)
	}
	// A cut in the last generation keeps the records of the ones before.
	var bin bytes.Buffer
	bw, _ := format.NewWriter(&bin)
	st, err := Convert(bytes.NewReader(in[:len(in)-1]), Config{}, oneSegment{bw}, nil)
	require.Error(t, err)
	assert.Positive(t, st.Wakes(), "wakes of the complete generations are kept")
}

func convertBytes(t *testing.T, in []byte) int {
	var bin bytes.Buffer
	bw, err := format.NewWriter(&bin)
	require.NoError(t, err)
	st, err := Convert(bytes.NewReader(in), Config{}, oneSegment{bw}, nil)
	require.NoError(t, err)
	return int(st.TotalRecords())
}

func TestNotATrace(t *testing.T) {
	_, err := Convert(strings.NewReader("definitely not a trace"), Config{}, newCapture(t), nil)
	require.Error(t, err)
	assert.True(t, IsTraceError(err))
	_, err = Convert(strings.NewReader("go 1.99 trace\x00\x00\x00"), Config{}, newCapture(t), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unsupported trace version")
}
