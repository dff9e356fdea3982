package tracewire

import (
	"strings"

	exptrace "golang.org/x/exp/trace"
)

// FromExpEvent fills e from an event of x/exp's parser (the reference
// path): the same values the decoder gives for the same event.
func FromExpEvent(ev *exptrace.Event, e *Event) {
	*e = Event{Time: ev.Time(), CurG: exptrace.NoGoroutine, CurP: exptrace.NoProc, P: exptrace.NoProc}
	switch ev.Kind() {
	case exptrace.EventSync:
		e.Kind = KindSync
		if s := ev.Sync(); s.ClockSnapshot != nil {
			cs := *s.ClockSnapshot
			e.Clock = &cs
		}
	case exptrace.EventStateTransition:
		st := ev.StateTransition()
		e.CurG, e.CurP = ev.Goroutine(), ev.Proc()
		switch st.Resource.Kind {
		case exptrace.ResourceGoroutine:
			from, to := st.Goroutine()
			e.setGo(st.Resource.Goroutine(), from, to)
			e.Reason = st.Reason
			e.TStack = Stack{x: st.Stack}
			if from == exptrace.GoNotExist {
				// The creator's stack: only a creation needs it.
				e.Stack = Stack{x: ev.Stack()}
			}
		case exptrace.ResourceProc:
			from, to := st.Proc()
			e.setProc(st.Resource.Proc(), from, to)
		}
	case exptrace.EventRangeBegin, exptrace.EventRangeEnd:
		r := ev.Range()
		if reason, ok := strings.CutPrefix(r.Name, "stop-the-world ("); ok && strings.HasSuffix(reason, ")") {
			e.Kind, e.Reason = KindSTW, reason[:len(reason)-1]
			e.CurG, e.CurP = ev.Goroutine(), ev.Proc()
			if ev.Kind() == exptrace.EventRangeBegin {
				e.To = 1
			}
		}
	}
}
