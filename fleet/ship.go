package fleet

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/records"
)

// ShipOptions say what a load is and how to read it.
type ShipOptions struct {
	Service  string
	Instance string
	// Start, if set, is the wall-clock time of the start of the run's
	// time line. By default: the last input's modification time minus the
	// time line's length (the records end when their last file was last
	// written).
	Start time.Time
	// BatchRows is the most rows of one INSERT (default 100000).
	BatchRows int
	// Records configures the reading (strictness, the conversion of
	// traces, progress).
	Records records.Options
	// Now is the clock of the files' shipped column (default time.Now).
	Now func() time.Time
	// OnBatch, if set, is called after each INSERT of a data table's batch
	// acknowledged by ClickHouse (for progress).
	OnBatch func(table string, rows int)
}

// ShipResult is what a load did.
type ShipResult struct {
	// Files is the inputs shipped, Skipped those already in ClickHouse
	// (for this service and instance: same SHA-256).
	Files, Skipped []string
	// Records is the records read (of every input, skipped ones too when
	// the run had to be read for the others).
	Records int64
	// Rows is the rows inserted, by table.
	Rows    map[string]int64
	LoadID  string
	Elapsed time.Duration
	// Warnings of the reading (a file cut short, read to its last record).
	Warnings []string
}

// RowsTotal is the rows inserted in all tables.
func (r *ShipResult) RowsTotal() int64 {
	var n int64
	for _, v := range r.Rows {
		n += v
	}
	return n
}

// Ship reads the inputs (records.Expand: files, the shim's directories,
// traces converted on the fly) as one run and loads it into ClickHouse
// as one load of the service's instance. Inputs already shipped for the
// same service and instance (same content) are skipped: when all are,
// nothing is read. Goroutineleak profiles among the inputs (or in their
// directories, as `wakeshim report` finds them: analyze.SplitInputs)
// prove the leaked verdicts of the goroutines still blocked at the end;
// they are read, not shipped (the pb.gz form needs package
// dump/pprofdump linked).
func Ship(ctx context.Context, c *Client, inputs []string, opt ShipOptions) (*ShipResult, error) {
	start := time.Now()
	if opt.Service == "" {
		return nil, fmt.Errorf("fleet: no service name")
	}
	if opt.Instance == "" {
		return nil, fmt.Errorf("fleet: no instance name")
	}
	if opt.BatchRows <= 0 {
		opt.BatchRows = 100000
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	inputs, leakPaths, err := analyze.SplitInputs(inputs)
	if err != nil {
		return nil, err
	}
	if len(inputs) == 0 && len(leakPaths) > 0 {
		return nil, fmt.Errorf("fleet: no records among the inputs, only goroutineleak profiles (%s)", strings.Join(leakPaths, ", "))
	}
	ins, err := records.Expand(inputs)
	if err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, fmt.Errorf("fleet: no input")
	}
	ids := make([]string, len(ins))
	for i, in := range ins {
		if ids[i], err = fileID(in.Path); err != nil {
			return nil, err
		}
	}
	if err := c.EnsureSchema(ctx); err != nil {
		return nil, err
	}
	scope := Scope{opt.Service, opt.Instance}
	done, err := c.shippedFiles(ctx, scope, ids)
	if err != nil {
		return nil, err
	}
	res := &ShipResult{Rows: map[string]int64{}, LoadID: newLoadID()}
	ship := make([]bool, len(ins))
	for i, in := range ins {
		if done[ids[i]] {
			res.Skipped = append(res.Skipped, in.Path)
		} else {
			ship[i] = true
			res.Files = append(res.Files, in.Path)
		}
	}
	if len(res.Files) == 0 {
		res.Elapsed = time.Since(start)
		return res, nil
	}
	var leaks []*analyze.LeakProfile
	for _, p := range leakPaths {
		// The shim's PROG-PID-SEQ.goroutineleak.txt belongs to the
		// records of PROG-PID; any other, to the first process run.
		lp, err := analyze.ReadLeakProfile(p, records.SideProcess(ins, p))
		if err != nil {
			return nil, err
		}
		leaks = append(leaks, lp)
	}
	rd, err := readRun(ins, opt.Records, leaks)
	if err != nil {
		return nil, err
	}
	res.Records, res.Warnings = rd.run.Records, rd.run.Warnings
	base := opt.Start.UnixNano()
	if opt.Start.IsZero() {
		fi, err := os.Stat(ins[len(ins)-1].Path)
		if err != nil {
			return nil, err
		}
		base = fi.ModTime().UnixNano() - rd.run.End
	}
	l := &loader{c: c, ctx: ctx, opt: opt, res: res, base: base, rd: rd, ship: ship}
	if err := l.load(); err != nil {
		return nil, fmt.Errorf("load %s (%s) not committed, ship again: %w", res.LoadID, strings.Join(res.Files, ", "), err)
	}
	if err := l.commit(ins, ids); err != nil {
		return nil, fmt.Errorf("load %s (%s) not committed, ship again: %w", res.LoadID, strings.Join(res.Files, ", "), err)
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// fileID is the hex SHA-256 of a file's bytes.
func fileID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func newLoadID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// shippedFiles returns which of the file ids the scope has already.
func (c *Client) shippedFiles(ctx context.Context, s Scope, ids []string) (map[string]bool, error) {
	have := map[string]bool{}
	for chunk := range slices.Chunk(ids, 500) {
		q := make([]string, len(chunk))
		for i, id := range chunk {
			q[i] = Quote(id)
		}
		rows, err := c.Query(ctx, fmt.Sprintf("SELECT DISTINCT file_id FROM %s.files WHERE %s AND file_id IN (%s)",
			c.Database, s.where(), strings.Join(q, ", ")))
		if err != nil {
			return nil, fmt.Errorf("looking up the files shipped before: %w", err)
		}
		for _, r := range rows {
			have[r[0]] = true
		}
	}
	return have, nil
}

// wake is one wake record of the run, kept until the goroutines' names
// are known (at the end of the run).
type wake struct {
	t            int64
	process      int32
	input        int32
	waker, woken uint32
	latencyUS    uint32
	worker       uint8
	hasLatency   bool
}

type spawn struct {
	t       int64
	process int32
	input   int32
	task    uint32
	loc     string
}

// pauseRow is a stop-the-world pause of the run.
type pauseRow struct {
	t, dur         int64
	process, input int32
	reason         string
}

type queueSample struct {
	t     int64
	input int32
	q     uint8
}

// runData is what a load is made of: the analyzer's blocks (re-reported
// blocks folded, as the report counts them) and the records the
// analyzer keeps no list of.
type runData struct {
	run *records.Run
	an  *analyze.Analyzer
	// rep is the analyzer's report at the end of the run: its verdicts
	// on the goroutines still blocked then.
	rep      *analyze.Report
	leaks    []*analyze.LeakProfile
	wakes    []wake
	spawns   []spawn
	queue    []queueSample
	pauses   []pauseRow
	inputEnd []int64 // the last time on the time line of each input
	recs     []int64 // records of each input
	pendRecs []int64 // TaskPending records of each input
}

// readRun reads the run once, through the analyzer, keeping its wakes
// (with their wake-to-run latency, measured as the analyzer does: from
// the first wake since the goroutine last ran to its next PollStart),
// spawns, run-queue samples and stop-the-world pauses (given to the
// analyzer too, as `wakeshim report` does: they explain slow wakes and
// the bursts of wakes after them); then ends the analysis, for the
// verdicts (with the leak profiles' proof) and the findings.
func readRun(ins []records.Input, opt records.Options, leaks []*analyze.LeakProfile) (*runData, error) {
	an, err := analyze.New(analyze.Config{Chains: chainKept, Leaks: leaks, KeepBlocks: true})
	if err != nil {
		return nil, err
	}
	rd := &runData{an: an, leaks: leaks, inputEnd: make([]int64, len(ins)), recs: make([]int64, len(ins)), pendRecs: make([]int64, len(ins))}
	given := opt.Pause
	opt.Pause = func(p *records.Pause) {
		an.Pause(p)
		rd.pauses = append(rd.pauses, pauseRow{t: p.T, dur: p.Duration, process: int32(p.Process), input: int32(p.Input), reason: p.Reason})
		if given != nil {
			given(p)
		}
	}
	rd.run = records.NewRun(ins, opt)
	type taskState struct {
		pending bool
		wake    int
	}
	tasks := map[uint64]*taskState{}
	state := func(process int, id uint32) *taskState {
		k := uint64(process)<<32 | uint64(id)
		s := tasks[k]
		if s == nil {
			s = &taskState{}
			tasks[k] = s
		}
		return s
	}
	var lastT int64
	for ev, err := range rd.run.Events() {
		if err != nil {
			return nil, err
		}
		an.Add(ev)
		rd.recs[ev.Input]++
		lastT = max(lastT, ev.T)
		rd.inputEnd[ev.Input] = lastT
		switch ev.Code {
		case format.CodeTaskPending:
			rd.pendRecs[ev.Input]++
		case format.CodeWakeEvent:
			rd.wakes = append(rd.wakes, wake{t: ev.T, process: int32(ev.Process), input: int32(ev.Input),
				waker: ev.Waker, woken: ev.Task, worker: ev.Worker})
			if s := state(ev.Process, ev.Task); !s.pending {
				s.pending, s.wake = true, len(rd.wakes)-1
			}
		case format.CodePollStart:
			if s := state(ev.Process, ev.Task); s.pending {
				s.pending = false
				w := &rd.wakes[s.wake]
				w.hasLatency, w.latencyUS = true, uint32(min((ev.T-w.t)/1000, 1<<32-1))
			}
		case format.CodeTaskSpawn:
			rd.spawns = append(rd.spawns, spawn{t: lastT, process: int32(ev.Process), input: int32(ev.Input), task: ev.Task, loc: ev.Location})
		case format.CodeQueueSample:
			rd.queue = append(rd.queue, queueSample{t: ev.T, input: int32(ev.Input), q: ev.GlobalQ})
		}
	}
	for i := 1; i < len(rd.inputEnd); i++ {
		rd.inputEnd[i] = max(rd.inputEnd[i], rd.inputEnd[i-1])
	}
	rd.rep = an.Report(rd.run.End)
	return rd, nil
}

// processes returns, for each process run of the inputs (numbered as
// records.Event.Process counts them), its PROG-PID ("" for files not
// named so) and the index of its last input.
func processes(ins []records.Input) (names []string, last []int) {
	lastProc := "\x00"
	for i, in := range ins {
		if in.Process != lastProc && (in.Process != "" || i == 0) {
			names = append(names, in.Process)
			last = append(last, i)
			lastProc = in.Process
		}
		last[len(last)-1] = i
	}
	return names, last
}

// runEnds returns, for each process run of the load (numbered as
// records.Event.Process counts them), its PROG-PID and whether this load
// ships the file holding its end. What is known at the end of a process
// run (the verdicts on the goroutines blocked then) belongs to that
// file, and what is known at the end of the whole run (the findings) to
// the last process run's: so a file shipped twice adds nothing, and a
// run read again for new files does not repeat an end shipped before.
func (l *loader) runEnds() (names []string, shipped []bool) {
	names, last := processes(l.rd.run.Inputs)
	shipped = make([]bool, len(names))
	for p, i := range last {
		shipped[p] = l.ship[i]
	}
	return names, shipped
}

// inputProcess is the process run of each input.
func inputProcess(ins []records.Input) []int {
	_, last := processes(ins)
	out := make([]int, len(ins))
	p := 0
	for i := range ins {
		for p < len(last)-1 && last[p] < i {
			p++
		}
		out[i] = p
	}
	return out
}

// inputAt is the input holding the time t of the time line.
func (rd *runData) inputAt(t int64) int {
	i, _ := slices.BinarySearch(rd.inputEnd, t)
	return min(i, len(rd.inputEnd)-1)
}

type loader struct {
	c    *Client
	ctx  context.Context
	opt  ShipOptions
	res  *ShipResult
	base int64
	rd   *runData
	ship []bool
	// names of the goroutines, as the analyzer names them in aggregates
	entry map[uint64]string
}

func (l *loader) batcher(table string, cols ...string) *batcher {
	b := &batcher{c: l.c, ctx: l.ctx, table: table, loadID: l.res.LoadID, max: l.opt.BatchRows,
		cols: append([]string{"service", "instance", "load_id", "batch"}, cols...)}
	if l.opt.OnBatch != nil {
		b.onBatch = func(n int) { l.opt.OnBatch(table, n) }
	}
	return b
}

// name is the name of a goroutine in the report's aggregates (wake
// edges, wakers): package analyze's, so that the fleet's report and a
// file's agree.
func (l *loader) name(process int32, id uint32) string {
	return analyze.AggregateName(id, l.rd.an.Location(int(process), id), l.entry[uint64(process)<<32|uint64(id)])
}

// outer is the goroutine's entry from a stack: its outermost frame's
// function, past runtime.goexit and runtime.main.
func outer(frames []string) string {
	for i := len(frames) - 1; i >= 0; i-- {
		fn, _, _ := strings.Cut(frames[i], " ")
		if fn != "runtime.goexit" && fn != "runtime.main" {
			return fn
		}
	}
	return ""
}

// StackID is the id of a wait reason and stack in the stacks table.
func StackID(reason string, frames []string) uint64 {
	h := sha256.New()
	h.Write([]byte(reason))
	for _, f := range frames {
		h.Write([]byte{0})
		h.Write([]byte(f))
	}
	return binary.LittleEndian.Uint64(h.Sum(nil))
}

func (l *loader) load() error {
	rd, o := l.rd, l.opt
	wall := func(t int64) int64 { return l.base + t }
	// The entries of goroutines from their first block's stack, as the
	// analyzer takes them when the spawn location is unknown.
	l.entry = map[uint64]string{}
	stacks := map[uint64]stackRow{}
	for b := range rd.an.Blocks() {
		k := uint64(b.Process)<<32 | uint64(b.Task)
		if l.entry[k] == "" {
			l.entry[k] = outer(b.Frames)
		}
	}
	pend := l.batcher("pending", "time", "ts_ns", "last_ns", "duration_ns", "process", "task", "stack_id", "reason",
		"woken", "waker", "waker_name", "still_blocked")
	groupID := map[int]uint64{}
	for b := range rd.an.Blocks() {
		if !l.ship[rd.inputAt(b.Last)] {
			continue
		}
		id, ok := groupID[b.Group]
		if !ok {
			id = StackID(b.Reason, b.Frames)
			groupID[b.Group] = id
			stacks[id] = stackRow{b.Reason, b.Frames}
		}
		r := pend.row(o.Service, o.Instance)
		r.dateTime(wall(b.Start))
		r.i64(wall(b.Start))
		r.i64(wall(b.Last))
		r.i64(b.Duration)
		r.u32(uint32(b.Process))
		r.u32(b.Task)
		r.u64(id)
		r.str(b.Reason)
		wn := ""
		if b.Woken {
			r.u8(1)
			wn = l.name(int32(b.Process), b.Waker)
		} else {
			r.u8(0)
		}
		r.u32(b.Waker)
		r.str(wn)
		r.u8(boolU8(b.StillBlocked))
		if err := pend.rowDone(); err != nil {
			return err
		}
	}
	vs := l.verdictStacks(stacks)
	fs := l.findings(stacks)
	chains := l.chainStacks(stacks)
	var profs []profileRow
	if chains {
		profs = l.profiles(stacks)
	}
	// The stacks first: a pending row's stack is there before it is
	// committed.
	if err := l.shipStacks(stacks); err != nil {
		return err
	}
	if err := pend.flush(); err != nil {
		return err
	}
	l.res.Rows["pending"] = pend.total

	wk := l.batcher("wakes", "time", "ts_ns", "process", "waker", "woken", "waker_name", "woken_name", "worker",
		"has_latency", "latency_us")
	type pairKey struct {
		process      int32
		waker, woken uint32
	}
	names := map[pairKey][2]string{}
	for i := range rd.wakes {
		w := &rd.wakes[i]
		if !l.ship[w.input] {
			continue
		}
		k := pairKey{w.process, w.waker, w.woken}
		nm, ok := names[k]
		if !ok {
			nm = [2]string{l.name(w.process, w.waker), l.name(w.process, w.woken)}
			names[k] = nm
		}
		r := wk.row(o.Service, o.Instance)
		r.dateTime(wall(w.t))
		r.i64(wall(w.t))
		r.u32(uint32(w.process))
		r.u32(w.waker)
		r.u32(w.woken)
		r.str(nm[0])
		r.str(nm[1])
		r.u8(w.worker)
		r.u8(boolU8(w.hasLatency))
		r.u32(w.latencyUS)
		if err := wk.rowDone(); err != nil {
			return err
		}
	}
	if err := wk.flush(); err != nil {
		return err
	}
	l.res.Rows["wakes"] = wk.total

	sp := l.batcher("spawns", "time", "ts_ns", "process", "task", "location")
	for _, s := range rd.spawns {
		if !l.ship[s.input] {
			continue
		}
		r := sp.row(o.Service, o.Instance)
		r.dateTime(wall(s.t))
		r.i64(wall(s.t))
		r.u32(uint32(s.process))
		r.u32(s.task)
		r.str(s.loc)
		if err := sp.rowDone(); err != nil {
			return err
		}
	}
	if err := sp.flush(); err != nil {
		return err
	}
	l.res.Rows["spawns"] = sp.total

	qb := l.batcher("queue", "time", "ts_ns", "global_q")
	for _, q := range rd.queue {
		if !l.ship[q.input] {
			continue
		}
		r := qb.row(o.Service, o.Instance)
		r.dateTime(wall(q.t))
		r.i64(wall(q.t))
		r.u8(q.q)
		if err := qb.rowDone(); err != nil {
			return err
		}
	}
	if err := qb.flush(); err != nil {
		return err
	}
	l.res.Rows["queue"] = qb.total
	if err := l.shipPauses(); err != nil {
		return err
	}
	if err := l.shipVerdicts(vs); err != nil {
		return err
	}
	if err := l.shipFindings(fs); err != nil {
		return err
	}
	if chains {
		if err := l.shipChains(); err != nil {
			return err
		}
		if err := l.shipTimeline(); err != nil {
			return err
		}
		return l.shipProfiles(profs)
	}
	return nil
}

// verdictStacks adds the stacks of the verdicts to ship to stacks and
// returns their ids, parallel to rd.rep.Verdicts (0: not shipped).
func (l *loader) verdictStacks(stacks map[uint64]stackRow) []uint64 {
	rep := l.rd.rep
	_, ends := l.runEnds()
	ids := make([]uint64, len(rep.Verdicts))
	for i, v := range rep.Verdicts {
		if v.Process >= len(ends) || !ends[v.Process] || v.Group < 0 || v.Group >= len(rep.Pending) {
			continue
		}
		reason := rep.Pending[v.Group].Reason
		ids[i] = StackID(reason, v.Frames)
		stacks[ids[i]] = stackRow{reason, v.Frames}
	}
	return ids
}

// shipVerdicts loads the verdicts on the goroutines still blocked at the
// end of the run, and one verdict_runs row per process run: those whose
// end is shipped now (runEnds). A process run with no goroutine blocked at the end has its
// row all the same: it is the end of that process's records, which the
// report takes as the latest.
func (l *loader) shipVerdicts(stackIDs []uint64) error {
	rep, o := l.rd.rep, l.opt
	end := l.base + rep.SpanNS
	names, ends := l.runEnds()
	blocked := make([]uint32, len(names))
	matched := make([]uint32, len(names))
	vb := l.batcher("verdicts", "time", "ts_ns", "process", "proc", "task", "name", "func", "created_at", "stack_id", "reason",
		"since_ns", "blocked_ns", "verdict", "severity", "evidence", "woken_here", "wakes", "spawned", "cycle",
		"proof_file", "proof_form", "proof_matched_by", "proof_state")
	for i, v := range rep.Verdicts {
		if stackIDs[i] == 0 {
			continue
		}
		blocked[v.Process]++
		r := vb.row(o.Service, o.Instance)
		r.dateTime(end)
		r.i64(end)
		r.u32(uint32(v.Process))
		r.str(names[v.Process])
		r.u32(v.TaskID)
		r.str(v.Name)
		r.str(v.Func)
		r.str(v.CreatedAt)
		r.u64(stackIDs[i])
		r.str(v.Reason)
		r.i64(l.base + v.SinceNS)
		r.i64(v.BlockedNS)
		r.str(v.Verdict)
		r.str(v.Severity)
		r.strs(v.Evidence)
		r.u32(uint32(v.WokenHere))
		r.i64(v.Wakes)
		r.u8(boolU8(v.Spawned))
		r.b = binary.AppendUvarint(r.b, uint64(len(v.Cycle)))
		for _, id := range v.Cycle {
			r.u32(id)
		}
		var p analyze.LeakProof
		if v.Proof != nil {
			p = *v.Proof
			matched[v.Process]++
		}
		r.str(p.File)
		r.str(p.Form)
		r.str(p.MatchedBy)
		r.str(p.State)
		if err := vb.rowDone(); err != nil {
			return err
		}
	}
	if err := vb.flush(); err != nil {
		return err
	}
	l.res.Rows["verdicts"] = vb.total
	// The profiles' named goroutines are counted over the run: they go
	// on the row of the first process run with a profile.
	files := make([][]string, len(names))
	namedAt := -1
	for _, p := range l.rd.leaks {
		if p.Process < len(names) {
			files[p.Process] = append(files[p.Process], p.Path)
			if namedAt < 0 || p.Process < namedAt {
				namedAt = p.Process
			}
		}
	}
	rb := l.batcher("verdict_runs", "time", "ts_ns", "process", "proc", "blocked", "leak_files", "leak_named", "leak_matched")
	for p, name := range names {
		if !ends[p] {
			continue
		}
		r := rb.row(o.Service, o.Instance)
		r.dateTime(end)
		r.i64(end)
		r.u32(uint32(p))
		r.str(name)
		r.u32(blocked[p])
		r.strs(files[p])
		named := 0
		if p == namedAt {
			named = rep.VerdictSummary.Profile.Named
		}
		r.u32(uint32(named))
		r.u32(matched[p])
		if err := rb.rowDone(); err != nil {
			return err
		}
	}
	if err := rb.flush(); err != nil {
		return err
	}
	l.res.Rows["verdict_runs"] = rb.total
	return nil
}

type stackRow struct {
	reason string
	frames []string
}

func boolU8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// shipStacks inserts the stacks the table does not have yet. Two loads
// racing may both insert one: the table is a ReplacingMergeTree, and
// queries read it by stack_id with any(), so a duplicate is harmless.
func (l *loader) shipStacks(stacks map[uint64]stackRow) error {
	if len(stacks) == 0 {
		return nil
	}
	ids := make([]uint64, 0, len(stacks))
	for id := range stacks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	have := map[uint64]bool{}
	for chunk := range slices.Chunk(ids, 1000) {
		q := make([]string, len(chunk))
		for i, id := range chunk {
			q[i] = strconv.FormatUint(id, 10)
		}
		rows, err := l.c.Query(l.ctx, fmt.Sprintf("SELECT DISTINCT stack_id FROM %s.stacks WHERE stack_id IN (%s)",
			l.c.Database, strings.Join(q, ", ")))
		if err != nil {
			return fmt.Errorf("looking up the stacks shipped before: %w", err)
		}
		for _, r := range rows {
			id, err := strconv.ParseUint(r[0], 10, 64)
			if err != nil {
				return fmt.Errorf("clickhouse: stack_id %q: %w", r[0], err)
			}
			have[id] = true
		}
	}
	var buf rowBuf
	n := 0
	now := l.opt.Now().UnixNano()
	for _, id := range ids {
		if have[id] {
			continue
		}
		s := stacks[id]
		buf.u64(id)
		buf.str(s.reason)
		buf.strs(s.frames)
		buf.dateTime(now)
		n++
	}
	if n == 0 {
		return nil
	}
	// A retried insert of stacks needs no check: a duplicate is harmless.
	if err := l.c.Insert(l.ctx, "stacks", []string{"stack_id", "reason", "frames", "time"}, buf.b, n, nil); err != nil {
		return fmt.Errorf("inserting %d stacks: %w", n, err)
	}
	l.res.Rows["stacks"] = int64(n)
	return nil
}

// commit writes the load's files rows: one INSERT, so that the load is
// committed whole or not at all.
func (l *loader) commit(ins []records.Input, ids []string) error {
	var buf rowBuf
	n := 0
	now := l.opt.Now().UnixNano()
	for i, in := range ins {
		if !l.ship[i] {
			continue
		}
		buf.str(l.opt.Service)
		buf.str(l.opt.Instance)
		buf.str(ids[i])
		buf.str(l.res.LoadID)
		buf.str(in.Path)
		buf.str(in.Kind.String())
		buf.i64(in.Bytes)
		buf.i64(l.rd.recs[i])
		buf.i64(l.rd.pendRecs[i])
		buf.i64(l.base)
		buf.i64(l.rd.run.End)
		buf.dateTime(now)
		n++
	}
	check := func() (int, error) {
		have, err := l.c.queryInt(l.ctx, fmt.Sprintf("SELECT count() FROM %s.files WHERE load_id = %s", l.c.Database, Quote(l.res.LoadID)))
		return int(have), err
	}
	cols := []string{"service", "instance", "file_id", "load_id", "path", "kind", "bytes", "records", "pending_records", "start_ns", "span_ns", "shipped"}
	if err := l.c.Insert(l.ctx, "files", cols, buf.b, n, check); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	l.res.Rows["files"] = int64(n)
	return nil
}
