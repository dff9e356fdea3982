package tracewire

import (
	"fmt"

	exptrace "golang.org/x/exp/trace"
)

// emit hands on an event that has happened, in context cur, as the
// converter's Event: its state transition, if it is one, with the
// transition's stacks and reason as x/exp's StateTransition gives them.
// It first checks the event's stack and string ids (checkIDs).
func (d *Decoder) emit(ev *rawEvent, typ uint8, cur schedCtx) error {
	if err := d.checkIDs(ev, typ); err != nil {
		return err
	}
	t := d.gen.t
	e := d.pushEvent(ev, cur.G, cur.P, stackArg(typ))
	switch typ {
	case evProcStart:
		e.setProc(ProcID(ev.args[0]), exptrace.ProcIdle, exptrace.ProcRunning)
	case evProcStop:
		e.setProc(cur.P, exptrace.ProcRunning, exptrace.ProcIdle)
	case evProcSteal:
		from := exptrace.ProcRunning
		if ev.extra == procSyscallAbandoned {
			from = exptrace.ProcIdle
		}
		e.setProc(ProcID(ev.args[0]), from, exptrace.ProcIdle)
	case evProcStatus:
		e.setProc(ProcID(ev.args[0]), exptrace.ProcState(ev.extra), procStatus2State[ev.args[1]])
	case evGoCreate, evGoCreateBlocked:
		to := exptrace.GoRunnable
		if typ == evGoCreateBlocked {
			to = exptrace.GoWaiting
		}
		e.setGo(GoID(ev.args[0]), exptrace.GoNotExist, to)
		e.TStack = Stack{t: t, id: ev.args[1]} // (a handle even for id 0, as x/exp gives)
	case evGoCreateSyscall:
		e.setGo(GoID(ev.args[0]), exptrace.GoNotExist, exptrace.GoSyscall)
	case evGoStart:
		e.setGo(GoID(ev.args[0]), exptrace.GoRunnable, exptrace.GoRunning)
	case evGoDestroy:
		e.setGo(cur.G, exptrace.GoRunning, exptrace.GoNotExist)
	case evGoDestroySyscall:
		e.setGo(cur.G, exptrace.GoSyscall, exptrace.GoNotExist)
	case evGoStop, evGoBlock:
		to := exptrace.GoRunnable
		if typ == evGoBlock {
			to = exptrace.GoWaiting
		}
		e.setGo(cur.G, exptrace.GoRunning, to)
		e.Reason, _ = t.str(ev.args[0])
		e.TStack = e.Stack
	case evGoUnblock, evGoSwitch, evGoSwitchDestroy:
		e.setGo(GoID(ev.args[0]), exptrace.GoWaiting, exptrace.GoRunnable)
	case evGoSyscallBegin:
		e.setGo(cur.G, exptrace.GoRunning, exptrace.GoSyscall)
		e.TStack = e.Stack
	case evGoSyscallEnd:
		e.setGo(cur.G, exptrace.GoSyscall, exptrace.GoRunning)
	case evGoSyscallEndBlocked:
		e.setGo(cur.G, exptrace.GoSyscall, exptrace.GoRunnable)
	case evGoStatus, evGoStatusStack:
		e.setGo(GoID(ev.args[0]), exptrace.GoState(ev.extra), goStatus2State[ev.args[2]])
		e.TStack = e.Stack
	case evSTWBegin, evSTWEnd:
		e.Kind = KindSTW
		if typ == evSTWBegin {
			e.To = 1
		}
		e.Reason, _ = t.str(ev.args[0])
	}
	return nil
}

// checkIDs checks the stack and string ids of ev, an event of type typ,
// against the generation's tables (the reference parser does so for every
// event it returns).
func (d *Decoder) checkIDs(ev *rawEvent, typ uint8) error {
	t := d.gen.t
	sp := &hotSpecs[typ]
	for _, i := range sp.stacks[:sp.nstacks] {
		if !t.stacks.has(ev.args[i]) {
			return fmt.Errorf("found invalid stack ID %d for event %s", ev.args[i], specs[typ].name)
		}
	}
	for _, i := range sp.strings[:sp.nstrings] {
		if !t.strings.has(ev.args[i]) {
			return fmt.Errorf("found invalid string ID %d for event %s", ev.args[i], specs[typ].name)
		}
	}
	return nil
}

// pushEvent appends ev as the converter's Event at its time (describe).
func (d *Decoder) pushEvent(ev *rawEvent, g GoID, p ProcID, stackArg int) *Event {
	return d.describe(d.push(ev.time), ev, g, p, stackArg)
}

// hotEvent is pushEvent for the fast lane: with a sink and no event
// queued, the event is built in d.direct, for pass (which hands it to the
// sink, or queues it).
func (d *Decoder) hotEvent(ev *rawEvent, g GoID, p ProcID, stackArg int) *Event {
	if d.sink == nil || len(d.q) != 0 {
		return d.pushEvent(ev, g, p, stackArg)
	}
	e := &d.direct
	newEvent(e, d.nextTime(ev.time))
	return d.describe(e, ev, g, p, stackArg)
}

// describe sets e, an event of ev, in context (g, p), with its own stack:
// argument stackArg (the event's first stack argument; -1 for an event
// without one), if not 0. (The fast lane passes constants: it is
// inlined there.)
func (d *Decoder) describe(e *Event, ev *rawEvent, g GoID, p ProcID, stackArg int) *Event {
	e.CurG, e.CurP = g, p
	if stackArg >= 0 {
		if id := ev.args[stackArg]; id != 0 {
			e.Stack = Stack{t: d.gen.t, id: id}
		}
	}
	return e
}

// pass hands e, if hotEvent built it in d.direct, to the sink; queues it
// if the sink does not take it.
func (d *Decoder) pass(e *Event) {
	if e == &d.direct {
		d.inSink = true
		took := d.sink.Take(e)
		d.inSink = false
		if !took {
			d.q = append(d.q, *e)
		}
	}
}

// stackArg returns the index of the first stack argument of events of type
// typ, -1 if they have none (for pushEvent).
func stackArg(typ uint8) int {
	if sp := &hotSpecs[typ]; sp.nstacks > 0 {
		return int(sp.stacks[0])
	}
	return -1
}

func (e *Event) setGo(id GoID, from, to exptrace.GoState) {
	e.Kind, e.G, e.From, e.To = KindGo, id, uint8(from), uint8(to)
}

func (e *Event) setProc(id ProcID, from, to exptrace.ProcState) {
	e.Kind, e.P, e.From, e.To = KindProc, id, uint8(from), uint8(to)
}
