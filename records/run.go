package records

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/internal/countio"
)

// Input is one file of a run.
type Input struct {
	Path  string
	Kind  Kind
	Bytes int64
	// Process names the process run the file belongs to: "PROG-PID" for
	// the shim's files (PROG-PID-SEQ.bin), "" for others (which continue
	// the run before them).
	Process string
}

// shimName matches the shim's file names: PROG-PID-SEQ.bin (or .jsonl).
var shimName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(.+-[0-9]+)-([0-9]+)\.(bin|jsonl)$`) })

// segName matches a conversion's rotated segments: NAME.N.EXT.
var segName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(.+)\.([0-9]+)\.([^.]+)$`) })

// Expand turns the paths given by a user into the files of a run, in
// time-line order: a directory gives its records files (the shim's
// PROG-PID-SEQ.bin, sorted by program, process and sequence number; a
// .jsonl beside a .bin of the same name is left out as its rendering);
// files are kept in the order given. Each file's kind is sniffed.
func Expand(paths []string) ([]Input, error) {
	var ins []Input
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			in, err := stat(p)
			if err != nil {
				return nil, err
			}
			ins = append(ins, in)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		names := map[string]bool{}
		for _, e := range ents {
			if e.Type().IsRegular() {
				names[e.Name()] = true
			}
		}
		var files []string
		for n := range names {
			switch {
			case strings.HasSuffix(n, ".bin"):
			case strings.HasSuffix(n, ".jsonl") && !names[strings.TrimSuffix(n, ".jsonl")+".bin"]:
			default:
				continue
			}
			files = append(files, n)
		}
		slices.SortFunc(files, compareNames)
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: no records files (*.bin, *.jsonl) in the directory", p)
		}
		for _, n := range files {
			in, err := stat(filepath.Join(p, n))
			if err != nil {
				return nil, err
			}
			ins = append(ins, in)
		}
	}
	return ins, nil
}

// compareNames orders the shim's files by process then sequence number,
// and rotated segments (app.bin, app.2.bin, app.10.bin) by number.
func compareNames(a, b string) int {
	ka, na := nameKey(a)
	kb, nb := nameKey(b)
	if c := strings.Compare(ka, kb); c != 0 {
		return c
	}
	if na != nb {
		if na < nb {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func nameKey(n string) (string, int) {
	if m := shimName().FindStringSubmatch(n); m != nil {
		seq, _ := strconv.Atoi(m[2])
		return m[1] + "." + m[3], seq
	}
	if m := segName().FindStringSubmatch(n); m != nil {
		seq, _ := strconv.Atoi(m[2])
		return m[1] + "." + m[3], seq
	}
	ext := filepath.Ext(n)
	return strings.TrimSuffix(n, ext) + ext, 1
}

func stat(p string) (Input, error) {
	f, err := Open(p)
	if err != nil {
		return Input{}, err
	}
	defer f.Close()
	in := Input{Path: p, Kind: f.Kind, Bytes: f.Size}
	if m := shimName().FindStringSubmatch(filepath.Base(p)); m != nil {
		in.Process = m[1]
	}
	return in, nil
}

// Options control how a run is read. The zero value is the default.
type Options struct {
	// Strict refuses a file that ends inside a record. By default such a
	// file (cut short by a crash) is read to its last whole record, with a
	// warning (Run.Warnings), and the run goes on with the next file.
	Strict bool
	// Convert configures the conversion of execution-trace inputs.
	Convert convert.Config
	// Progress, if set, is called now and then with the bytes of the
	// inputs read so far (all files).
	Progress func(read int64)
	// Pause, if set, is given the traced program's stop-the-world pauses
	// on the run's time line, in order with the records (a pause after
	// the records before its end): from a trace converted on the fly,
	// and from the shim's PROG-PID-SEQ.pauses.txt beside a records file.
	// The Pause is reused: copy what you keep.
	Pause func(*Pause)
	// End, if set, is given the ends of goroutines (they exited) on the
	// run's time line, in order with the records (an end after the
	// records before it), from a trace converted on the fly: no record
	// names the goroutine after its end. The v9 records have no code
	// for it: their files give none. The End is reused.
	End func(*End)
}

// End is the end of a goroutine (it exited) on the run's time line.
type End struct {
	// T is when it ended, in nanoseconds; Task its task_id.
	T    int64
	Task uint32
	// Process is the process run it belongs to (Event.Process); Input
	// the index of the file it came with in Run.Inputs (Event.Input).
	Process, Input int
}

// Pause is a stop-the-world pause of the traced program (format.Pause)
// on the run's time line.
type Pause struct {
	// T is when it began and Duration its length, in nanoseconds.
	T, Duration int64
	Reason      string
	// Process is the process run it belongs to (Event.Process); Input
	// the index of the file it came with in Run.Inputs (Event.Input).
	Process, Input int
}

// Event is one record of a run, placed on the run's time line.
type Event struct {
	format.Record
	// T is the record's time on the run's time line, in nanoseconds (0 for
	// the records without a timestamp).
	T int64
	// Input is the index of the record's file in Run.Inputs; Segment
	// counts the files (and the segments of a converted trace) read so far,
	// from 0.
	Input, Segment int
	// Process counts the process runs (a new one starts at a shim file of
	// another PROG-PID), from 0. Goroutine ids are only unique within one.
	Process int
	// Stack is a TaskPending's frames resolved, innermost first, the wait
	// reason pseudo-frame ("[reason]") included when the record has it.
	// It is shared between events: do not modify it.
	Stack []string
	// Location is the spawn location of a PollStart's or TaskSpawn's
	// goroutine ("" if unknown).
	Location string
}

// Run reads files as one time line.
type Run struct {
	Inputs   []Input
	Options  Options
	Warnings []string
	// End is the end of the time line (ns) once Events is done.
	End int64
	// Records counts the records read.
	Records int64
}

// NewRun returns a run of the inputs (see Expand).
func NewRun(inputs []Input, opt Options) *Run {
	return &Run{Inputs: inputs, Options: opt}
}

// errStop ends a conversion when the consumer stops iterating.
var errStop = errors.New("records: stopped")

// Events iterates over the records of every input in order. The time line:
// each file's clock starts at its own 0, and a file starts where the
// previous one's last timestamp is (base(next) = base(prev) + last
// ts_us(prev)); the converter starts each segment at the previous one's
// last event. An error (bad input, with file and offset or line; a
// TaskPending or PollStart using an id its file does not define) is
// yielded once and ends the iteration. The Event and its Frames are
// reused: copy what you keep.
func (r *Run) Events() iter.Seq2[*Event, error] {
	return func(yield func(*Event, error) bool) {
		st := &runState{run: r, yield: yield, ev: &Event{}}
		st.process = -1
		lastProc := "\x00"
		for i, in := range r.Inputs {
			if in.Process != lastProc && (in.Process != "" || i == 0) {
				st.process++
				lastProc = in.Process
			}
			if err := st.file(i, in); err != nil {
				if err != errStop {
					yield(nil, err)
				}
				return
			}
		}
		r.End = st.base
	}
}

type runState struct {
	run     *Run
	yield   func(*Event, error) bool
	ev      *Event
	base    int64 // current file's time base, ns
	maxTS   uint32
	seg     int
	process int
	input   int
	frames  idStrings
	locs    idStrings
	stacks  map[string][]string
	idBuf   []byte
	// convRead is the input bytes the conversion of a trace has read.
	convRead int64
	where    func() string
	read     int64  // bytes of the inputs before the current one
	tick     func() // progress, called every few thousand records
	// side holds the pauses of the current file's side file not yet
	// given (ordered by their end), pause the one being given.
	side  []format.Pause
	pause Pause
	end   End
}

// idStrings is a file's table of frames or spawn locations by their
// 16-bit ids: a slice, not a map, as every PollStart looks its location
// up (a map's hashing was 7% of a report on a busy trace).
type idStrings struct {
	strs []string
	def  []bool
}

func (t *idStrings) reset() {
	clear(t.strs)
	clear(t.def)
}

func (t *idStrings) get(id uint16) (string, bool) {
	if int(id) < len(t.def) && t.def[id] {
		return t.strs[id], true
	}
	return "", false
}

func (t *idStrings) set(id uint16, s string) {
	if int(id) >= len(t.def) {
		n := max(int(id)+1, 2*len(t.def), 64)
		t.strs = append(t.strs, make([]string, n-len(t.strs))...)
		t.def = append(t.def, make([]bool, n-len(t.def))...)
	}
	t.strs[id], t.def[id] = s, true
}

func (s *runState) startFile() {
	s.frames.reset()
	s.locs.reset()
	s.stacks = map[string][]string{}
	s.maxTS = 0
}

func (s *runState) endFile() {
	s.base += int64(s.maxTS) * 1000
	s.seg++
}

func (s *runState) file(i int, in Input) error {
	osf, err := os.Open(in.Path)
	if err != nil {
		return err
	}
	defer osf.Close()
	cr := &countio.Reader{R: osf}
	f, err := NewFile(in.Path, cr)
	if err != nil {
		return err
	}
	s.input = i
	s.startFile()
	progress := s.run.Options.Progress
	done := s.read
	fromFile := false // the converter read osf itself (s.convRead)
	defer func() {
		if fromFile {
			s.read = done + s.convRead
		} else {
			s.read = done + cr.N
		}
	}()
	if progress != nil {
		s.tick = func() { progress(done + cr.N) }
	}
	if f.Kind == KindTrace {
		s.tick = nil // the conversion reports the progress
		src := f.Reader()
		if rewound(osf) {
			// The converter reads a regular file where it lies
			// (convert.Convert), and says how far it read.
			src, fromFile, s.convRead = osf, true, 0
		}
		recErr, convErr := s.convertTrace(src, progress, done)
		if recErr != nil {
			return recErr // errStop, or a record the run refused (named already)
		}
		if convErr != nil {
			return fmt.Errorf("%s: %w", in.Path, convErr)
		}
		s.endFile()
		return nil
	}
	s.where = f.Where
	if err := s.sidePauses(in.Path); err != nil {
		return err
	}
	for {
		rec, err := f.Next()
		if err == io.EOF {
			s.givePauses(math.MaxUint32 + 1)
			break
		}
		if err != nil {
			if !s.run.Options.Strict && errors.Is(err, format.ErrTruncated) {
				s.run.Warnings = append(s.run.Warnings, fmt.Sprintf("%v; read to the last whole record", err))
				s.givePauses(math.MaxUint32 + 1)
				break
			}
			return err
		}
		if len(s.side) > 0 && rec.Code.Spec().Fields[0].Slot == format.SlotTS {
			s.givePauses(int64(rec.TS))
		}
		if err := s.record(&rec); err != nil {
			return err
		}
	}
	s.endFile()
	return nil
}

// convertTrace converts a trace on the fly and feeds its records to the
// run. The converter runs as a coroutine of this goroutine (iter.Pull),
// handing records over in batches that the run reads while they are
// still in the core's caches; the trace is decoded in a goroutine of its
// own (convert.Config.Concurrent), so that decoding on one core and
// converting and analysing on the other, a report on a trace costs little
// more wall time than the conversion alone. (Converting in a goroutine
// of its own too made the records cross cores: 88 bytes each, millions of
// them, which cost a third of a report's CPU.)
// It returns the error of the run's side (errStop when the consumer
// stopped) and the conversion's.
func (s *runState) convertTrace(src io.Reader, progress func(int64), done int64) (recErr, convErr error) {
	s.where = func() string { return "converted record" }
	next, stop := iter.Pull(func(yield func(*recBatch) bool) {
		out := &traceOut{cur: &recBatch{}, yield: yield}
		prog := func(n int64) {
			s.convRead = n
			if progress != nil {
				progress(done + n)
			}
		}
		cfg := s.run.Options.Convert
		cfg.Concurrent = true
		var co convert.Output = out
		if s.run.Options.End != nil {
			co = endOut{out}
		}
		_, err := convert.Convert(src, cfg, co, prog)
		if out.flush() != nil || err == errStop {
			return
		}
		convErr = err
	})
	defer stop()
	for {
		b, ok := next()
		if !ok {
			return nil, convErr // (set before the coroutine returned)
		}
		if err := s.batch(b); err != nil {
			return err, nil // stop makes the converter's next flush fail: it ends
		}
		b.reset()
	}
}

// sidePauses reads the pauses the shim kept beside a records file
// PROG-PID-SEQ.bin (or .jsonl), PROG-PID-SEQ.pauses.txt, if Options.Pause
// wants them and there is one. A bad line ends the file's pauses with a
// warning naming the file and line (an error if Strict); the pauses
// before it are kept.
func (s *runState) sidePauses(path string) error {
	s.side = s.side[:0]
	if s.run.Options.Pause == nil || shimName().FindStringSubmatch(filepath.Base(path)) == nil {
		return nil
	}
	name := strings.TrimSuffix(strings.TrimSuffix(path, ".bin"), ".jsonl") + "." + format.PauseExt
	f, err := os.Open(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	defer f.Close()
	pr, err := format.NewPauseReader(f)
	for err == nil {
		var p format.Pause
		if p, err = pr.Next(); err == nil {
			s.side = append(s.side, p)
		}
	}
	if err != io.EOF {
		if s.run.Options.Strict {
			return fmt.Errorf("%s: %w", name, err)
		}
		s.run.Warnings = append(s.run.Warnings, fmt.Sprintf("%s: %v; the pauses before it kept", name, err))
	}
	slices.SortStableFunc(s.side, func(a, b format.Pause) int {
		return cmp.Compare(int64(a.TS)+int64(a.Duration), int64(b.TS)+int64(b.Duration))
	})
	return nil
}

// givePauses gives Options.Pause the side file's pauses that ended by
// ts (µs, the file's clock).
func (s *runState) givePauses(ts int64) {
	n := 0
	for _, p := range s.side {
		if int64(p.TS)+int64(p.Duration) > ts {
			break
		}
		s.give(&p)
		n++
	}
	s.side = s.side[n:]
}

// give gives Options.Pause a pause of the current file or segment.
func (s *runState) give(p *format.Pause) {
	if s.run.Options.Pause == nil {
		return
	}
	s.pause = Pause{T: s.base + int64(p.TS)*1000, Duration: int64(p.Duration) * 1000, Reason: p.Reason, Process: s.process, Input: s.input}
	s.run.Options.Pause(&s.pause)
}

// batch feeds the run a batch of converted records.
func (s *runState) batch(b *recBatch) error {
	for i := range b.recs {
		switch b.mark[i] {
		case markNext:
			s.endFile()
			s.startFile()
			continue
		case markPause:
			r := &b.recs[i]
			s.give(&format.Pause{TS: r.TS, Duration: r.Duration, Reason: r.Str})
			continue
		case markEnd:
			r := &b.recs[i]
			s.end = End{T: s.base + int64(r.TS)*1000, Task: r.Task, Process: s.process, Input: s.input}
			s.run.Options.End(&s.end)
			continue
		}
		if err := s.record(&b.recs[i]); err != nil {
			return err
		}
	}
	return nil
}

// recBatch is a run of converted records; mark says which are not
// records: the places where the converter started a new segment (the
// record there is empty), and the pauses (the record holds the pause's
// TS, Duration and Reason as Str).
type recBatch struct {
	recs   []format.Record
	mark   []uint8
	frames []uint16 // the TaskPendings' frame ids (the converter reuses its own)
}

// recBatch.mark's values.
const (
	markRecord = iota
	markNext
	markPause
	markEnd
)

const batchLen = 1024

// reset empties the batch for reuse. The records are not cleared: the
// strings they hold are the converter's interned definitions, alive
// anyway, and clearing 80 bytes a record cost a tenth of a report.
func (b *recBatch) reset() {
	b.recs, b.mark, b.frames = b.recs[:0], b.mark[:0], b.frames[:0]
}

// traceOut receives the records of a trace converted on the fly and hands
// them over in batches, one at a time: yield returns when the run has
// read the batch (and emptied it), false when the run has stopped.
type traceOut struct {
	cur   *recBatch
	yield func(*recBatch) bool
}

func (o *traceOut) add(r *format.Record, next bool) error {
	m := uint8(markRecord)
	if next {
		m = markNext
	}
	slot := o.slot(m)
	if r != nil {
		*slot = *r
		if len(r.Frames) > 0 { // the converter reuses its own
			b := o.cur
			n := len(b.frames)
			b.frames = append(b.frames, r.Frames...)
			slot.Frames = b.frames[n:len(b.frames):len(b.frames)]
		}
	}
	return o.full()
}

// slot appends an empty record to the current batch, marked m, and
// returns it.
func (o *traceOut) slot(m uint8) *format.Record {
	b := o.cur
	n := len(b.recs)
	if n < cap(b.recs) {
		b.recs = b.recs[:n+1]
		b.recs[n] = format.Record{}
	} else {
		b.recs = append(b.recs, format.Record{})
	}
	b.mark = append(b.mark, m)
	return &b.recs[n]
}

// full hands the current batch over once it holds batchLen records.
func (o *traceOut) full() error {
	if len(o.cur.recs) >= batchLen {
		return o.flush()
	}
	return nil
}

// flush hands the current batch over.
func (o *traceOut) flush() error {
	if len(o.cur.recs) == 0 {
		return nil
	}
	if !o.yield(o.cur) {
		return errStop
	}
	return nil
}

func (o *traceOut) WriteRecord(r *format.Record) error { return o.add(r, false) }

// WriteHot makes traceOut a format.HotWriter: the converter's most
// common records are set field by field in their slot. (Given as a
// Record, each was copied whole right after the converter had set its
// fields one by one: the copy's wide loads could not be served from
// those narrower stores still on their way to memory, a stall for each
// record.)
func (o *traceOut) WriteHot(h format.Hot) error {
	r := o.slot(markRecord)
	r.Code, r.TS, r.Worker, r.LocalQ, r.Task, r.Waker, r.SpawnLoc = h.Code, h.TS, h.Worker, h.LocalQ, h.Task, h.Waker, h.SpawnLoc
	return o.full()
}

func (o *traceOut) NextSegment() error { return o.add(nil, true) }

// WritePause makes traceOut a convert.PauseOutput: the pause goes in its
// place among the records.
func (o *traceOut) WritePause(p *format.Pause) error {
	r := o.slot(markPause)
	r.TS, r.Duration, r.Str = p.TS, p.Duration, p.Reason
	return o.full()
}

// traceOut is a convert.EndOutput when the run wants the ends
// (Options.End): endOut.
type endOut struct{ *traceOut }

// WriteEnd makes endOut a convert.EndOutput: the end goes in its place
// among the records.
func (o endOut) WriteEnd(task, ts uint32) error {
	r := o.slot(markEnd)
	r.TS, r.Task = ts, task
	return o.full()
}

func (o *traceOut) Close() error { return nil }

func (s *runState) record(rec *format.Record) error {
	s.run.Records++
	if s.tick != nil && s.run.Records%8192 == 0 {
		s.tick()
	}
	ev := s.ev
	ev.Record = *rec
	ev.Input, ev.Segment, ev.Process = s.input, s.seg, s.process
	ev.Stack, ev.Location, ev.T = nil, "", 0
	if rec.Code.Spec().Fields[0].Slot == format.SlotTS {
		s.maxTS = max(s.maxTS, rec.TS)
		ev.T = s.base + int64(rec.TS)*1000
	}
	switch rec.Code {
	case format.CodeFrameDef:
		if _, ok := s.frames.get(rec.ID); ok {
			clear(s.stacks) // a redefinition changes the stacks using it
		}
		s.frames.set(rec.ID, rec.Str)
	case format.CodeSpawnLocationDef:
		s.locs.set(rec.ID, rec.Str)
	case format.CodeTaskSpawn, format.CodePollStart:
		if rec.SpawnLoc != 0 {
			loc, ok := s.locs.get(rec.SpawnLoc)
			if !ok {
				return s.fail("%s of task %d uses spawn location id %d, not defined in this file", rec.Code, rec.Task, rec.SpawnLoc)
			}
			ev.Location = loc
		}
	case format.CodeTaskPending:
		s.idBuf = s.idBuf[:0]
		for _, id := range rec.Frames {
			s.idBuf = append(s.idBuf, byte(id), byte(id>>8))
		}
		stk, ok := s.stacks[string(s.idBuf)]
		if !ok {
			stk = make([]string, len(rec.Frames))
			for i, id := range rec.Frames {
				f, ok := s.frames.get(id)
				if !ok {
					return s.fail("TaskPending uses frame id %d, not defined in this file", id)
				}
				stk[i] = f
			}
			s.stacks[string(s.idBuf)] = stk
		}
		ev.Stack = stk
	}
	if !s.yield(ev, nil) {
		return errStop
	}
	return nil
}

func (s *runState) fail(format string, a ...any) error {
	return fmt.Errorf("%s: %s: %s", s.run.Inputs[s.input].Path, s.where(), fmt.Sprintf(format, a...))
}

// Reason splits a TaskPending's resolved stack into its wait reason (the
// first frame, "[reason]", without the brackets; "" if absent) and the
// frames of the stack proper.
func Reason(stack []string) (string, []string) {
	if len(stack) > 0 {
		if f := stack[0]; len(f) >= 2 && f[0] == '[' && f[len(f)-1] == ']' {
			return f[1 : len(f)-1], stack[1:]
		}
	}
	return "", stack
}

// Entry returns the entry function of a goroutine given its spawn
// location: the part before " (created at " in the current form
// "ENTRY (created at CREATOR FILE:LINE)", or the whole of a bare "ENTRY".
// Older files give the creator's "FUNC FILE:LINE": then the creator's
// function, and ok is false (it is not the goroutine's own function).
func Entry(loc string) (entry string, ok bool) {
	if loc == "" {
		return "", false
	}
	if e, _, found := strings.Cut(loc, " (created at "); found {
		return e, true
	}
	if f, _, found := strings.Cut(loc, " "); found {
		return f, false // old form: the creator's FUNC FILE:LINE
	}
	return loc, true
}

// sideName matches a file the shim keeps beside its records file
// PROG-PID-SEQ.bin: PROG-PID-SEQ.goroutines.txt, .goroutineleak.txt.
var sideName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(.+-[0-9]+)-([0-9]+)\.[^-]+$`) })

// SideProcess returns the process run (as Event.Process counts them over
// ins) of a file kept beside the shim's records, such as the
// goroutineleak profile PROG-PID-SEQ.goroutineleak.txt: the run of the
// records of the same PROG-PID. A path of another shape, or of a process
// none of ins belongs to, gives 0, the first run.
func SideProcess(ins []Input, path string) int {
	m := sideName().FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return 0
	}
	process, lastProc := -1, "\x00"
	for i, in := range ins {
		if in.Process != lastProc && (in.Process != "" || i == 0) {
			process++
			lastProc = in.Process
		}
		if in.Process == m[1] {
			return process
		}
	}
	return 0
}
