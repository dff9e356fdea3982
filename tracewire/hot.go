package tracewire

import exptrace "golang.org/x/exp/trace"

// hotStep is the fast lane of step for the events that make nearly all of
// a busy trace (GoStart, GoBlock, GoStop, GoUnblock), of a server's
// (those, GoSyscallBegin, GoSyscallEnd, HeapAlloc, HeapGoal: 96% of the
// nats-server capture) and of a program that makes goroutines by the
// million (GoCreate, GoDestroy), as the earliest event of the frontier. It does
// what tryAdvance, ordering.advance, dispatch, the ordering's checks of
// each and emit do for them, in one function, and only when every check
// passes: for anything else (another event type, an M seen for the
// first time in the generation, an event that cannot happen yet, a check
// that fails and must produce its error) it changes nothing and returns
// false, and step takes the general path, which decides exactly as
// before. So both paths give the same events and
// the same errors (TestSameEvents, TestMutatedEvents and the fuzzers hold
// the decoder to x/exp).
func (d *Decoder) hotStep() (bool, error) {
	c := d.frontier[0]
	if ok, err := d.hotOne(); !ok || err != nil {
		return ok, err
	}
	// While the same M's next event is still the earliest (no other M's,
	// no CPU sample before it) and Fill wants more, its next event, here:
	// step and Fill's loop cost 3% of a conversion, for every event.
	for d.runLeft > 0 && len(d.q) < d.fillN && len(d.frontier) > 0 && d.frontier[0] == c &&
		(len(d.cpu) == 0 || d.cpu[0].time >= c.ev.time) {
		d.runLeft--
		if ok, err := d.hotOne(); !ok || err != nil {
			return true, err
		}
	}
	return true, nil
}

// hotOne is hotStep for one event.
func (d *Decoder) hotOne() (bool, error) {
	c := d.frontier[0]
	ms := c.ms
	o := &d.order
	if ms == nil || o.initialGen == 0 {
		return false, nil // (advance looks the M up and starts the ordering)
	}
	ev := &c.ev
	g := d.gen
	t := g.t
	// The M's context (advance): the M is known (ms != nil), so it has one.
	curG, curP := ms.g, ms.p
	var e *Event
	switch ev.typ {
	case evGoStart:
		gid := GoID(ev.args[0])
		sq := seq{g.gen, ev.args[1]}
		s, ok := o.g(gid)
		if !ok || s.status != goRunnable || !sq.succeeds(s.seq) || curP == noP || curG != noG {
			return false, nil
		}
		s.status, s.seq = goRunning, sq
		ms.g = gid
		e = d.hotEvent(ev, curG, curP, -1)
		e.setGo(gid, exptrace.GoRunnable, exptrace.GoRunning)
	case evGoBlock, evGoStop:
		if curP == noP || curG == noG || !t.stacks.has(ev.args[1]) || !t.strings.has(ev.args[0]) {
			return false, nil
		}
		s, ok := o.g(curG)
		if !ok || s.status != goRunning {
			return false, nil
		}
		to, st := exptrace.GoRunnable, uint8(goRunnable)
		if ev.typ == evGoBlock {
			to, st = exptrace.GoWaiting, goWaiting
		}
		s.status = st
		ms.g = noG
		e = d.hotEvent(ev, curG, curP, 1)
		e.setGo(curG, exptrace.GoRunning, to)
		e.Reason, _ = t.str(ev.args[0])
		e.TStack = e.Stack
	case evGoUnblock:
		gid := GoID(ev.args[0])
		sq := seq{g.gen, ev.args[1]}
		s, ok := o.g(gid)
		if !ok || s.status != goWaiting || !sq.succeeds(s.seq) || !t.stacks.has(ev.args[2]) {
			return false, nil
		}
		s.status, s.seq = goRunnable, sq
		e = d.hotEvent(ev, curG, curP, 2)
		e.setGo(gid, exptrace.GoWaiting, exptrace.GoRunnable)
	case evGoSyscallBegin:
		if curP == noP || curG == noG || !t.stacks.has(ev.args[1]) {
			return false, nil
		}
		s, ok := o.g(curG)
		if !ok || s.status != goRunning {
			return false, nil
		}
		ps, ok := o.ps[curP]
		sq := seq{g.gen, ev.args[0]}
		if !ok || !sq.succeeds(ps.seq) {
			return false, nil
		}
		s.status = goSyscall
		ps.status, ps.seq = procSyscall, sq
		e = d.hotEvent(ev, curG, curP, 1)
		e.setGo(curG, exptrace.GoRunning, exptrace.GoSyscall)
		e.TStack = e.Stack
	case evGoSyscallEnd:
		if curP == noP || curG == noG {
			return false, nil
		}
		s, ok := o.g(curG)
		if !ok || s.status != goSyscall {
			return false, nil
		}
		ps, ok := o.ps[curP]
		if !ok || ps.status != procSyscall {
			return false, nil
		}
		s.status = goRunning
		ps.status = procRunning
		e = d.hotEvent(ev, curG, curP, -1)
		e.setGo(curG, exptrace.GoSyscall, exptrace.GoRunning)
	case evGoCreate, evGoCreateBlocked: // (goCreate; a program making goroutines by the million)
		if curP == noP || !t.stacks.has(ev.args[1]) || !t.stacks.has(ev.args[2]) {
			return false, nil
		}
		if curG != noG {
			if s, ok := o.g(curG); ok && s.status != goRunning {
				return false, nil
			}
		}
		gid := GoID(ev.args[0])
		if _, ok := o.g(gid); ok {
			return false, nil
		}
		st, to := uint8(goRunnable), exptrace.GoRunnable
		if ev.typ == evGoCreateBlocked {
			st, to = goWaiting, exptrace.GoWaiting
		}
		o.setG(gid, o.newG(st, seq{g.gen, 0}))
		e = d.hotEvent(ev, curG, curP, 2)
		e.setGo(gid, exptrace.GoNotExist, to)
		e.TStack = Stack{t: t, id: ev.args[1]} // (a handle even for id 0, as emit gives)
	case evGoDestroy: // (goStopExec)
		if curP == noP || curG == noG {
			return false, nil
		}
		s, ok := o.g(curG)
		if !ok || s.status != goRunning {
			return false, nil
		}
		o.delG(curG)
		ms.g = noG
		e = d.hotEvent(ev, curG, curP, -1)
		e.setGo(curG, exptrace.GoRunning, exptrace.GoNotExist)
	case evHeapAlloc, evHeapGoal:
		if curP == noP {
			return false, nil
		}
		e = d.hotEvent(ev, curG, curP, -1)
	default:
		return false, nil
	}
	d.pass(e)
	// tryAdvance's tail: the M's next event.
	ok, err := c.next(g)
	if err != nil {
		return true, err
	}
	if ok {
		// heapUpdate(h, 0), its commonest outcome inline: the M's next
		// event is still the earliest, the heap unchanged.
		h := d.frontier
		if t := c.ev.time; len(h) > 1 && h[1].ev.time < t || len(h) > 2 && h[2].ev.time < t {
			heapSiftDown(h, 0)
		}
	} else {
		d.frontier = heapRemove(d.frontier, 0)
	}
	return true, nil
}
