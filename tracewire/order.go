package tracewire

import (
	"fmt"
	"slices"

	"github.com/wakeshim/wakeshim/internal/idtab"

	exptrace "golang.org/x/exp/trace"
)

// ordering follows the scheduler's state (goroutines, Ps, Ms, GC, tasks,
// regions) to tell whether an M's next event can happen now, and validates
// it as the reference parser does. The rules are those of x/exp/trace's
// ordering (order.go there): they are what makes a trace valid, so both
// decoders must share them; the code is this package's own.
type ordering struct {
	gs         idtab.Table[*gState] // by goroutine id
	ps         map[ProcID]*pState
	ms         map[ThreadID]*mState
	tasks      map[uint64]taskState
	gcSeq      uint64
	gcState    uint8
	initialGen uint64
	gfree      []*gState
}

const (
	gcUndetermined = iota
	gcNotRunning
	gcRunning
)

// g returns the state of goroutine id, if known.
func (o *ordering) g(id GoID) (*gState, bool) { return o.gs.Get(uint64(id)) }

func (o *ordering) setG(id GoID, g *gState) { o.gs.Set(uint64(id), g) }

type seq struct{ gen, n uint64 }

func (a seq) succeeds(b seq) bool { return a.gen == b.gen && a.n == b.n+1 }

// gState is a goroutine's state in the ordering: what nearly every event
// checks, in 32 bytes, so that the states of a server's hundreds of
// goroutines stay in the first-level cache; the regions and ranges in
// flight, which few events touch, are apart (extra).
type gState struct {
	status uint8
	seq    seq
	x      *gExtra
}

type gExtra struct {
	regions  []region
	inFlight []rangeType
}

// extra returns the goroutine's regions and ranges in flight.
func (g *gState) extra() *gExtra {
	if g.x == nil {
		g.x = new(gExtra)
	}
	return g.x
}

type pState struct {
	status   uint8
	seq      seq
	inFlight []rangeType
}

type mState struct {
	g GoID
	p ProcID
}

type region struct {
	task uint64
	name string
}

type rangeType struct {
	typ  uint8
	desc uint64
}

type taskState struct{}

type schedCtx struct {
	G GoID
	P ProcID
	M ThreadID
}

const (
	noG = exptrace.NoGoroutine
	noP = exptrace.NoProc
	noM = exptrace.NoThread
)

func (o *ordering) init() {
	o.gs.Clear()
	o.ps = make(map[ProcID]*pState)
	o.ms = make(map[ThreadID]*mState)
	o.tasks = make(map[uint64]taskState)
}

func (o *ordering) newG(status uint8, s seq) *gState {
	if n := len(o.gfree); n > 0 {
		g := o.gfree[n-1]
		o.gfree = o.gfree[:n-1]
		*g = gState{status: status, seq: s, x: g.x}
		if x := g.x; x != nil {
			x.regions, x.inFlight = x.regions[:0], x.inFlight[:0]
		}
		return g
	}
	return &gState{status: status, seq: s}
}

func (o *ordering) delG(id GoID) {
	if g, ok := o.g(id); ok {
		o.gs.Delete(uint64(id))
		o.gfree = append(o.gfree, g)
	}
}

// constraint on a context's M, P or G.
type constraint uint8

const (
	mustNotHave constraint = iota
	mayHave
	mustHave
)

type reqs struct{ M, P, G constraint }

var userGoReqs = reqs{mustHave, mustHave, mustHave}

func validateCtx(ctx schedCtx, r reqs) error {
	if r.M == mustHave && ctx.M == noM {
		return fmt.Errorf("expected a thread but didn't have one")
	} else if r.M == mustNotHave && ctx.M != noM {
		return fmt.Errorf("expected no thread but had one")
	}
	if r.P == mustHave && ctx.P == noP {
		return fmt.Errorf("expected a proc but didn't have one")
	} else if r.P == mustNotHave && ctx.P != noP {
		return fmt.Errorf("expected no proc but had one")
	}
	if r.G == mustHave && ctx.G == noG {
		return fmt.Errorf("expected a goroutine but didn't have one")
	} else if r.G == mustNotHave && ctx.G != noG {
		return fmt.Errorf("expected no goroutine but had one")
	}
	return nil
}

// advance tries to let cursor c's event happen now. On success the
// events it makes are pushed to d; false without an error means another
// M's event must come first.
func (o *ordering) advance(d *Decoder, c *cursor) (bool, error) {
	gen := d.gen.gen
	if o.initialGen == 0 {
		o.initialGen = gen
	}
	ev := &c.ev
	m := c.m
	cur := schedCtx{M: m, P: noP, G: noG}
	var ms *mState
	if m != noM {
		if ms = c.ms; ms == nil {
			var ok bool
			if ms, ok = o.ms[m]; !ok {
				ms = &mState{g: noG, p: noP}
				o.ms[m] = ms
			}
			c.ms = ms // (an M's state is never removed)
		}
		cur.P, cur.G = ms.p, ms.g
	}
	next, ok, err := o.dispatch(d, ev, m, gen, cur)
	if err == nil && ok && ms != nil {
		ms.p, ms.g = next.P, next.G
	}
	return ok, err
}

func (o *ordering) dispatch(d *Decoder, ev *rawEvent, m ThreadID, gen uint64, cur schedCtx) (schedCtx, bool, error) {
	switch ev.typ {
	case evProcsChange, evGoLabel, evUserLog:
		return o.annotation(d, ev, cur)
	case evProcStart:
		return o.procStart(d, ev, gen, cur)
	case evProcStop:
		return o.procStop(d, ev, cur)
	case evProcSteal:
		return o.procSteal(d, ev, gen, cur)
	case evProcStatus:
		return o.procStatus(d, ev, gen, cur)
	case evGoCreate, evGoCreateBlocked:
		return o.goCreate(d, ev, gen, cur)
	case evGoCreateSyscall:
		return o.goCreateSyscall(d, ev, gen, cur)
	case evGoStart:
		return o.goStart(d, ev, gen, cur)
	case evGoDestroy, evGoStop, evGoBlock:
		return o.goStopExec(d, ev, cur)
	case evGoDestroySyscall:
		return o.goDestroySyscall(d, ev, cur)
	case evGoUnblock:
		return o.goUnblock(d, ev, gen, cur)
	case evGoSyscallBegin:
		return o.goSyscallBegin(d, ev, gen, cur)
	case evGoSyscallEnd:
		return o.goSyscallEnd(d, ev, cur)
	case evGoSyscallEndBlocked:
		return o.goSyscallEndBlocked(d, ev, cur)
	case evGoStatus, evGoStatusStack:
		return o.goStatus(d, ev, gen, cur)
	case evSTWBegin, evGCMarkAssistBegin:
		return o.goRangeBegin(d, ev, cur)
	case evSTWEnd, evGCMarkAssistEnd:
		return o.goRangeEnd(d, ev, cur)
	case evGCMarkAssistActive:
		return o.goRangeActive(d, ev, gen, cur)
	case evGCActive:
		return o.gcActive(d, ev, gen, cur)
	case evGCBegin:
		return o.gcBegin(d, ev, cur)
	case evGCEnd:
		return o.gcEnd(d, ev, cur)
	case evGCSweepActive:
		return o.gcSweepActive(d, ev, gen, cur)
	case evGCSweepBegin:
		return o.gcSweepBegin(d, ev, cur)
	case evGCSweepEnd:
		return o.gcSweepEnd(d, ev, cur)
	case evHeapAlloc, evHeapGoal:
		return o.heapMetric(d, ev, cur)
	case evUserTaskBegin:
		return o.userTaskBegin(d, ev, cur)
	case evUserTaskEnd:
		return o.userTaskEnd(d, ev, cur)
	case evUserRegionBegin:
		return o.userRegion(d, ev, cur, true)
	case evUserRegionEnd:
		return o.userRegion(d, ev, cur, false)
	case evGoSwitch, evGoSwitchDestroy:
		return o.goSwitch(d, ev, gen, cur)
	case evSpan, evSpanAlloc, evSpanFree, evHeapObject, evHeapObjectAlloc, evHeapObjectFree,
		evGoroutineStack, evGoroutineStackAlloc, evGoroutineStackFree:
		if err := validateCtx(cur, reqs{mustHave, mayHave, mayHave}); err != nil {
			return cur, false, err
		}
		return cur, true, d.emit(ev, ev.typ, cur)
	}
	return cur, false, fmt.Errorf("bad event type found while ordering: %d", ev.typ)
}

var goStatus2State = [numGoStatus]exptrace.GoState{
	goRunnable: exptrace.GoRunnable,
	goRunning:  exptrace.GoRunning,
	goWaiting:  exptrace.GoWaiting,
	goSyscall:  exptrace.GoSyscall,
}

var procStatus2State = [numProcStatus]exptrace.ProcState{
	procRunning:          exptrace.ProcRunning,
	procIdle:             exptrace.ProcIdle,
	procSyscall:          exptrace.ProcRunning,
	procSyscallAbandoned: exptrace.ProcIdle,
}

func (o *ordering) procStatus(d *Decoder, ev *rawEvent, gen uint64, cur schedCtx) (schedCtx, bool, error) {
	pid := ProcID(ev.args[0])
	status := uint64(uint8(ev.args[1])) // a status is a byte (as the reference parser takes it)
	if status >= numProcStatus {
		return cur, false, fmt.Errorf("invalid status for proc %d: %d", pid, status)
	}
	old := procStatus2State[status]
	if s, ok := o.ps[pid]; ok {
		switch {
		case status == procSyscallAbandoned && s.status == procSyscall:
			old = exptrace.ProcRunning
			ev.args[1] = procSyscall
		case status == procSyscallAbandoned && s.status == procSyscallAbandoned:
			old = exptrace.ProcIdle
			ev.args[1] = procSyscallAbandoned
		case uint64(s.status) != status:
			return cur, false, fmt.Errorf("inconsistent status for proc %d: old %d vs. new %d", pid, s.status, status)
		}
		s.seq = seq{gen, 0}
	} else {
		o.ps[pid] = &pState{status: uint8(status), seq: seq{gen, 0}}
		if gen == o.initialGen {
			old = exptrace.ProcUndetermined
		} else {
			old = exptrace.ProcNotExist
		}
	}
	if ev.args[1] >= numProcStatus {
		// The reference parser lets the byte through but then fails
		// (panics) on the full value when asked for the transition.
		return cur, false, fmt.Errorf("invalid status for proc %d: %d", pid, ev.args[1])
	}
	ev.extra = uint64(old)
	next := cur
	if status == procRunning || status == procSyscall {
		next.P = pid
	}
	if status == procSyscallAbandoned && old == exptrace.ProcRunning {
		// Emitted in the context of the M the P is bound to. (The
		// reference parser takes the last such M of a map walk; a valid
		// trace has one.)
		found := false
		for mid, ms := range o.ms {
			if ms.p == pid {
				cur = schedCtx{M: mid, P: pid, G: ms.g}
				found = true
			}
		}
		if !found {
			return cur, false, fmt.Errorf("failed to find sched context for proc %d that's about to be stolen", pid)
		}
	}
	return next, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) procStart(d *Decoder, ev *rawEvent, gen uint64, cur schedCtx) (schedCtx, bool, error) {
	pid := ProcID(ev.args[0])
	sq := seq{gen, ev.args[1]}
	s, ok := o.ps[pid]
	if !ok || s.status != procIdle || !sq.succeeds(s.seq) || cur.P != noP {
		return cur, false, nil
	}
	if err := validateCtx(cur, reqs{mustHave, mustNotHave, mayHave}); err != nil {
		return cur, false, err
	}
	s.status, s.seq = procRunning, sq
	next := cur
	next.P = pid
	return next, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) procStop(d *Decoder, ev *rawEvent, cur schedCtx) (schedCtx, bool, error) {
	s, ok := o.ps[cur.P]
	if !ok {
		return cur, false, fmt.Errorf("event ProcStop for proc (%d) that doesn't exist", cur.P)
	}
	if s.status != procRunning && s.status != procSyscall {
		return cur, false, fmt.Errorf("ProcStop event for proc that's not Running or Syscall")
	}
	if err := validateCtx(cur, reqs{mustHave, mustHave, mayHave}); err != nil {
		return cur, false, err
	}
	s.status = procIdle
	next := cur
	next.P = noP
	return next, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) procSteal(d *Decoder, ev *rawEvent, gen uint64, cur schedCtx) (schedCtx, bool, error) {
	pid := ProcID(ev.args[0])
	sq := seq{gen, ev.args[1]}
	s, ok := o.ps[pid]
	if !ok || (s.status != procSyscall && s.status != procSyscallAbandoned) || !sq.succeeds(s.seq) {
		return cur, false, nil
	}
	if err := validateCtx(cur, reqs{mustHave, mayHave, mayHave}); err != nil {
		return cur, false, err
	}
	old := s.status
	ev.extra = uint64(old)
	s.status, s.seq = procIdle, sq
	if old == procSyscallAbandoned {
		return cur, true, d.emit(ev, ev.typ, cur)
	}
	mid := ThreadID(ev.args[2])
	next := cur
	if mid == cur.M {
		if cur.P != pid {
			return cur, false, fmt.Errorf("tried to self-steal proc %d (thread %d), but got proc %d instead", pid, mid, cur.P)
		}
		next.P = noP
		return next, true, d.emit(ev, ev.typ, cur)
	}
	ms, ok := o.ms[mid]
	if !ok {
		return cur, false, fmt.Errorf("stole proc from non-existent thread %d", mid)
	}
	if ms.p != pid {
		return cur, false, fmt.Errorf("tried to steal proc %d from thread %d, but got proc %d instead", pid, mid, ms.p)
	}
	ms.p = noP
	return next, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) goStatus(d *Decoder, ev *rawEvent, gen uint64, cur schedCtx) (schedCtx, bool, error) {
	gid := GoID(ev.args[0])
	mid := ThreadID(ev.args[1])
	status := uint64(uint8(ev.args[2])) // a status is a byte (as the reference parser takes it)
	if status >= numGoStatus {
		return cur, false, fmt.Errorf("invalid status for goroutine %d: %d", gid, status)
	}
	old := goStatus2State[status]
	if s, ok := o.g(gid); ok {
		if uint64(s.status) != status {
			return cur, false, fmt.Errorf("inconsistent status for goroutine %d: old %d vs. new %d", gid, s.status, status)
		}
		s.seq = seq{gen, 0}
	} else if gen == o.initialGen {
		o.setG(gid, o.newG(uint8(status), seq{gen, 0}))
		old = exptrace.GoUndetermined
	} else {
		return cur, false, fmt.Errorf("found goroutine status for new goroutine after the first generation: id=%d status=%d", gid, status)
	}
	ev.extra = uint64(old)
	ev.args[2] = status
	next := cur
	switch status {
	case goRunning:
		next.G = gid
	case goSyscall:
		if mid == noM {
			return cur, false, fmt.Errorf("found goroutine %d in syscall without a thread", gid)
		}
		if mid == cur.M {
			if gen != o.initialGen && cur.G != gid {
				return cur, false, fmt.Errorf("inconsistent thread for syscalling goroutine %d: thread has goroutine %d", gid, cur.G)
			}
			next.G = gid
			break
		}
		if ms, ok := o.ms[mid]; ok {
			if ms.g != gid {
				return cur, false, fmt.Errorf("inconsistent thread for syscalling goroutine %d: thread has goroutine %d", gid, ms.g)
			}
			cur.G = ms.g
		} else {
			o.ms[mid] = &mState{g: gid, p: noP}
		}
		cur.M = mid
	}
	return next, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) goCreate(d *Decoder, ev *rawEvent, gen uint64, cur schedCtx) (schedCtx, bool, error) {
	if err := validateCtx(cur, reqs{mustHave, mustHave, mayHave}); err != nil {
		return cur, false, err
	}
	if s, ok := o.g(cur.G); ok && s.status != goRunning {
		return cur, false, fmt.Errorf("%s event for goroutine that's not Running", eventName(ev.typ))
	}
	id := GoID(ev.args[0])
	if _, ok := o.g(id); ok {
		return cur, false, fmt.Errorf("tried to create goroutine (%d) that already exists", id)
	}
	status := uint8(goRunnable)
	if ev.typ == evGoCreateBlocked {
		status = goWaiting
	}
	o.setG(id, o.newG(status, seq{gen, 0}))
	return cur, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) goStopExec(d *Decoder, ev *rawEvent, cur schedCtx) (schedCtx, bool, error) {
	if err := validateCtx(cur, userGoReqs); err != nil {
		return cur, false, err
	}
	s, ok := o.g(cur.G)
	if !ok {
		return cur, false, fmt.Errorf("event %s for goroutine (%d) that doesn't exist", eventName(ev.typ), cur.G)
	}
	if s.status != goRunning {
		return cur, false, fmt.Errorf("%s event for goroutine that's not Running", eventName(ev.typ))
	}
	next := cur
	switch ev.typ {
	case evGoDestroy:
		o.delG(cur.G)
	case evGoStop:
		s.status = goRunnable
	case evGoBlock:
		s.status = goWaiting
	}
	next.G = noG
	return next, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) goStart(d *Decoder, ev *rawEvent, gen uint64, cur schedCtx) (schedCtx, bool, error) {
	gid := GoID(ev.args[0])
	sq := seq{gen, ev.args[1]}
	s, ok := o.g(gid)
	if !ok || s.status != goRunnable || !sq.succeeds(s.seq) {
		return cur, false, nil
	}
	if err := validateCtx(cur, reqs{mustHave, mustHave, mustNotHave}); err != nil {
		return cur, false, err
	}
	s.status, s.seq = goRunning, sq
	next := cur
	next.G = gid
	return next, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) goUnblock(d *Decoder, ev *rawEvent, gen uint64, cur schedCtx) (schedCtx, bool, error) {
	gid := GoID(ev.args[0])
	sq := seq{gen, ev.args[1]}
	s, ok := o.g(gid)
	if !ok || s.status != goWaiting || !sq.succeeds(s.seq) {
		return cur, false, nil
	}
	s.status, s.seq = goRunnable, sq
	return cur, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) goSwitch(d *Decoder, ev *rawEvent, gen uint64, cur schedCtx) (schedCtx, bool, error) {
	if err := validateCtx(cur, userGoReqs); err != nil {
		return cur, false, err
	}
	cs, ok := o.g(cur.G)
	if !ok {
		return cur, false, fmt.Errorf("event %s for goroutine (%d) that doesn't exist", eventName(ev.typ), cur.G)
	}
	if cs.status != goRunning {
		return cur, false, fmt.Errorf("%s event for goroutine that's not Running", eventName(ev.typ))
	}
	nextg := GoID(ev.args[0])
	sq := seq{gen, ev.args[1]}
	ns, ok := o.g(nextg)
	if !ok || ns.status != goWaiting || !sq.succeeds(ns.seq) {
		return cur, false, nil
	}
	if err := d.emit(ev, ev.typ, cur); err != nil {
		return cur, false, err
	}
	// The switch is three events: the unblock of the next goroutine (the
	// event itself), the block or exit of the current one, the start of
	// the next one.
	var side rawEvent
	side.time = ev.time
	side.off = ev.off
	switch ev.typ {
	case evGoSwitch:
		cs.status = goWaiting
		d.emit(&side, evGoBlock, cur)
	case evGoSwitchDestroy:
		o.delG(cur.G)
		d.emit(&side, evGoDestroy, cur)
	}
	ns.status, ns.seq = goRunning, sq
	next := cur
	next.G = nextg
	start := cur
	start.G = noG
	side.args[0], side.args[1] = uint64(nextg), ev.args[1]
	d.emit(&side, evGoStart, start)
	return next, true, nil
}

func (o *ordering) goSyscallBegin(d *Decoder, ev *rawEvent, gen uint64, cur schedCtx) (schedCtx, bool, error) {
	if err := validateCtx(cur, userGoReqs); err != nil {
		return cur, false, err
	}
	s, ok := o.g(cur.G)
	if !ok {
		return cur, false, fmt.Errorf("event GoSyscallBegin for goroutine (%d) that doesn't exist", cur.G)
	}
	if s.status != goRunning {
		return cur, false, fmt.Errorf("GoSyscallBegin event for goroutine that's not Running")
	}
	s.status = goSyscall
	ps, ok := o.ps[cur.P]
	if !ok {
		return cur, false, fmt.Errorf("uninitialized proc %d found during GoSyscallBegin", cur.P)
	}
	ps.status = procSyscall
	sq := seq{gen, ev.args[0]}
	if !sq.succeeds(ps.seq) {
		return cur, false, fmt.Errorf("failed to advance GoSyscallBegin: can't make sequence: %d -> %d", ps.seq.n, sq.n)
	}
	ps.seq = sq
	return cur, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) goSyscallEnd(d *Decoder, ev *rawEvent, cur schedCtx) (schedCtx, bool, error) {
	if err := validateCtx(cur, userGoReqs); err != nil {
		return cur, false, err
	}
	s, ok := o.g(cur.G)
	if !ok {
		return cur, false, fmt.Errorf("event GoSyscallEnd for goroutine (%d) that doesn't exist", cur.G)
	}
	if s.status != goSyscall {
		return cur, false, fmt.Errorf("GoSyscallEnd event for goroutine that's not in a syscall")
	}
	s.status = goRunning
	ps, ok := o.ps[cur.P]
	if !ok {
		return cur, false, fmt.Errorf("uninitialized proc %d found during GoSyscallEnd", cur.P)
	}
	if ps.status != procSyscall {
		return cur, false, fmt.Errorf("expected proc %d in state Syscall, but got %d instead", cur.P, ps.status)
	}
	ps.status = procRunning
	return cur, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) goSyscallEndBlocked(d *Decoder, ev *rawEvent, cur schedCtx) (schedCtx, bool, error) {
	if cur.P != noP {
		ps, ok := o.ps[cur.P]
		if !ok {
			return cur, false, fmt.Errorf("uninitialized proc %d found during GoSyscallEndBlocked", cur.P)
		}
		if ps.status == procSyscall {
			return cur, false, nil
		}
	}
	if err := validateCtx(cur, reqs{mustHave, mayHave, mustHave}); err != nil {
		return cur, false, err
	}
	s, ok := o.g(cur.G)
	if !ok {
		return cur, false, fmt.Errorf("event GoSyscallEndBlocked for goroutine (%d) that doesn't exist", cur.G)
	}
	if s.status != goSyscall {
		return cur, false, fmt.Errorf("GoSyscallEndBlocked event for goroutine that's not in a syscall")
	}
	next := cur
	next.G = noG
	s.status = goRunnable
	return next, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) goCreateSyscall(d *Decoder, ev *rawEvent, gen uint64, cur schedCtx) (schedCtx, bool, error) {
	if err := validateCtx(cur, reqs{mustHave, mayHave, mustNotHave}); err != nil {
		return cur, false, err
	}
	id := GoID(ev.args[0])
	if _, ok := o.g(id); ok {
		return cur, false, fmt.Errorf("tried to create goroutine (%d) in syscall that already exists", id)
	}
	o.setG(id, o.newG(goSyscall, seq{gen, 0}))
	next := cur
	next.G = id
	return next, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) goDestroySyscall(d *Decoder, ev *rawEvent, cur schedCtx) (schedCtx, bool, error) {
	if err := validateCtx(cur, reqs{mustHave, mayHave, mustHave}); err != nil {
		return cur, false, err
	}
	s, ok := o.g(cur.G)
	if !ok {
		return cur, false, fmt.Errorf("event GoDestroySyscall for goroutine (%d) that doesn't exist", cur.G)
	}
	if s.status != goSyscall {
		return cur, false, fmt.Errorf("GoDestroySyscall event for goroutine that's not in a syscall")
	}
	o.delG(cur.G)
	next := cur
	next.G = noG
	if cur.P != noP {
		ps, ok := o.ps[cur.P]
		if !ok {
			return cur, false, fmt.Errorf("found invalid proc %d during GoDestroySyscall", cur.P)
		}
		if ps.status != procSyscall {
			return cur, false, fmt.Errorf("proc %d in unexpected state %d during GoDestroySyscall", cur.P, ps.status)
		}
		ps.status = procSyscallAbandoned
		next.P = noP
		// A self-steal of the P, before the event.
		var side rawEvent
		side.time, side.off = ev.time, ev.off
		side.args[0] = uint64(cur.P)
		side.extra = procSyscall
		d.emit(&side, evProcSteal, cur)
	}
	return next, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) userTaskBegin(d *Decoder, ev *rawEvent, cur schedCtx) (schedCtx, bool, error) {
	id := ev.args[0]
	if _, ok := o.tasks[id]; ok {
		return cur, false, fmt.Errorf("task ID conflict: %d", id)
	}
	if _, ok := d.gen.t.str(ev.args[2]); !ok {
		return cur, false, fmt.Errorf("invalid string ID %d for UserTaskBegin event", ev.args[2])
	}
	o.tasks[id] = taskState{}
	if err := validateCtx(cur, userGoReqs); err != nil {
		return cur, false, err
	}
	return cur, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) userTaskEnd(d *Decoder, ev *rawEvent, cur schedCtx) (schedCtx, bool, error) {
	delete(o.tasks, ev.args[0])
	if err := validateCtx(cur, userGoReqs); err != nil {
		return cur, false, err
	}
	return cur, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) userRegion(d *Decoder, ev *rawEvent, cur schedCtx, begin bool) (schedCtx, bool, error) {
	if err := validateCtx(cur, userGoReqs); err != nil {
		return cur, false, err
	}
	name, ok := d.gen.t.str(ev.args[1])
	if !ok {
		return cur, false, fmt.Errorf("invalid string ID %d for %s event", ev.args[1], eventName(ev.typ))
	}
	s, ok := o.g(cur.G)
	if !ok {
		return cur, false, fmt.Errorf("encountered %s without known state for current goroutine %d", eventName(ev.typ), cur.G)
	}
	r := region{ev.args[0], name}
	x := s.extra()
	if begin {
		x.regions = append(x.regions, r)
	} else if n := len(x.regions); n > 0 {
		if x.regions[n-1] != r {
			return cur, false, fmt.Errorf("misuse of region in goroutine %d: region end %q when the inner-most active region start event is %q", cur.G, r.name, x.regions[n-1].name)
		}
		x.regions = x.regions[:n-1]
	}
	return cur, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) gcActive(d *Decoder, ev *rawEvent, gen uint64, cur schedCtx) (schedCtx, bool, error) {
	sq := ev.args[0]
	if gen == o.initialGen {
		if o.gcState != gcUndetermined {
			return cur, false, fmt.Errorf("GCActive in the first generation isn't first GC event")
		}
		o.gcSeq, o.gcState = sq, gcRunning
		return cur, true, d.emit(ev, ev.typ, cur)
	}
	if sq != o.gcSeq+1 {
		return cur, false, nil
	}
	if o.gcState != gcRunning {
		return cur, false, fmt.Errorf("encountered GCActive while GC was not in progress")
	}
	o.gcSeq = sq
	if err := validateCtx(cur, userGoReqs); err != nil {
		return cur, false, err
	}
	return cur, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) gcBegin(d *Decoder, ev *rawEvent, cur schedCtx) (schedCtx, bool, error) {
	sq := ev.args[0]
	if o.gcState == gcUndetermined {
		o.gcSeq, o.gcState = sq, gcRunning
		return cur, true, d.emit(ev, ev.typ, cur)
	}
	if sq != o.gcSeq+1 {
		return cur, false, nil
	}
	if o.gcState == gcRunning {
		return cur, false, fmt.Errorf("encountered GCBegin while GC was already in progress")
	}
	o.gcSeq, o.gcState = sq, gcRunning
	if err := validateCtx(cur, userGoReqs); err != nil {
		return cur, false, err
	}
	return cur, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) gcEnd(d *Decoder, ev *rawEvent, cur schedCtx) (schedCtx, bool, error) {
	sq := ev.args[0]
	if sq != o.gcSeq+1 {
		return cur, false, nil
	}
	if o.gcState == gcNotRunning {
		return cur, false, fmt.Errorf("encountered GCEnd when GC was not in progress")
	}
	if o.gcState == gcUndetermined {
		return cur, false, fmt.Errorf("encountered GCEnd when GC was in an undetermined state")
	}
	o.gcSeq, o.gcState = sq, gcNotRunning
	if err := validateCtx(cur, userGoReqs); err != nil {
		return cur, false, err
	}
	return cur, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) annotation(d *Decoder, ev *rawEvent, cur schedCtx) (schedCtx, bool, error) {
	if err := validateCtx(cur, userGoReqs); err != nil {
		return cur, false, err
	}
	return cur, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) heapMetric(d *Decoder, ev *rawEvent, cur schedCtx) (schedCtx, bool, error) {
	if err := validateCtx(cur, reqs{mustHave, mustHave, mayHave}); err != nil {
		return cur, false, err
	}
	return cur, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) gcSweepBegin(d *Decoder, ev *rawEvent, cur schedCtx) (schedCtx, bool, error) {
	if err := validateCtx(cur, reqs{mustHave, mustHave, mayHave}); err != nil {
		return cur, false, err
	}
	ps := o.ps[cur.P]
	if ps == nil {
		return cur, false, fmt.Errorf("GCSweepBegin on unknown proc %d", cur.P)
	}
	if err := beginRange(&ps.inFlight, rangeOf(ev.typ, 0)); err != nil {
		return cur, false, err
	}
	return cur, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) gcSweepActive(d *Decoder, ev *rawEvent, gen uint64, cur schedCtx) (schedCtx, bool, error) {
	pid := ProcID(ev.args[0])
	ps, ok := o.ps[pid]
	if !ok {
		return cur, false, fmt.Errorf("encountered GCSweepActive for unknown proc %d", pid)
	}
	if err := activeRange(&ps.inFlight, rangeOf(ev.typ, 0), gen == o.initialGen); err != nil {
		return cur, false, err
	}
	return cur, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) gcSweepEnd(d *Decoder, ev *rawEvent, cur schedCtx) (schedCtx, bool, error) {
	if err := validateCtx(cur, reqs{mustHave, mustHave, mayHave}); err != nil {
		return cur, false, err
	}
	ps := o.ps[cur.P]
	if ps == nil {
		return cur, false, fmt.Errorf("GCSweepEnd on unknown proc %d", cur.P)
	}
	if _, err := endRange(&ps.inFlight, ev.typ); err != nil {
		return cur, false, err
	}
	return cur, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) goRangeBegin(d *Decoder, ev *rawEvent, cur schedCtx) (schedCtx, bool, error) {
	if err := validateCtx(cur, userGoReqs); err != nil {
		return cur, false, err
	}
	desc := uint64(0)
	if ev.typ == evSTWBegin {
		desc = ev.args[0]
	}
	s, ok := o.g(cur.G)
	if !ok {
		return cur, false, fmt.Errorf("encountered event of type %d without known state for current goroutine %d", ev.typ, cur.G)
	}
	if err := beginRange(&s.extra().inFlight, rangeOf(ev.typ, desc)); err != nil {
		return cur, false, err
	}
	return cur, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) goRangeActive(d *Decoder, ev *rawEvent, gen uint64, cur schedCtx) (schedCtx, bool, error) {
	gid := GoID(ev.args[0])
	s, ok := o.g(gid)
	if !ok {
		return cur, false, fmt.Errorf("uninitialized goroutine %d found during %s", gid, eventName(ev.typ))
	}
	if err := activeRange(&s.extra().inFlight, rangeOf(ev.typ, 0), gen == o.initialGen); err != nil {
		return cur, false, err
	}
	return cur, true, d.emit(ev, ev.typ, cur)
}

func (o *ordering) goRangeEnd(d *Decoder, ev *rawEvent, cur schedCtx) (schedCtx, bool, error) {
	if err := validateCtx(cur, userGoReqs); err != nil {
		return cur, false, err
	}
	s, ok := o.g(cur.G)
	if !ok {
		return cur, false, fmt.Errorf("encountered event of type %d without known state for current goroutine %d", ev.typ, cur.G)
	}
	desc, err := endRange(&s.extra().inFlight, ev.typ)
	if err != nil {
		return cur, false, err
	}
	if ev.typ == evSTWEnd {
		// The reason, as the reference parser smuggles it in: the end
		// of a stop-the-world names it as its begin did.
		ev.args[0] = desc
	}
	return cur, true, d.emit(ev, ev.typ, cur)
}

func rangeOf(typ uint8, desc uint64) rangeType {
	if st := specs[typ].startEv; st != evNone {
		typ = st
	}
	return rangeType{typ, desc}
}

func beginRange(in *[]rangeType, r rangeType) error {
	if slices.Contains(*in, r) {
		return fmt.Errorf("discovered event already in-flight for when starting event %s", specs[r.typ].name)
	}
	*in = append(*in, r)
	return nil
}

func activeRange(in *[]rangeType, r rangeType, initial bool) error {
	if initial {
		if slices.Contains(*in, r) {
			return fmt.Errorf("found named active range already in first gen: %s", specs[r.typ].name)
		}
		*in = append(*in, r)
	} else if !slices.Contains(*in, r) {
		return fmt.Errorf("resource is missing active range: %s", specs[r.typ].name)
	}
	return nil
}

func endRange(in *[]rangeType, typ uint8) (uint64, error) {
	st := specs[typ].startEv
	idx := -1
	for i, r := range *in {
		if r.typ == st {
			idx = i
			break
		}
	}
	if idx < 0 {
		return 0, fmt.Errorf("tried to end event %s, but not in-flight", specs[st].name)
	}
	s := *in
	desc := s[idx].desc
	s[idx], s[len(s)-1] = s[len(s)-1], s[idx]
	*in = s[:len(s)-1]
	return desc, nil
}
