// Package live is the side door of package convert for a converter fed
// while the trace is being made: the shim inside a program and wakeshim
// attach beside one. They need hooks that an offline conversion does not
// (going on across the tracer's pauses, taking in goroutine dumps,
// re-reporting long blocks while they last, the decoder's fast lane with a
// time limit), and those stay out of convert's public API: a program
// outside this module cannot name Ops, so it cannot set Config.Live.
//
// Usage: set convert.Config.Live to a new(live.Ops); convert.New fills it
// in with the new Converter's hooks.
package live

import (
	"time"

	exptrace "golang.org/x/exp/trace"

	"github.com/wakeshim/wakeshim/tracewire"
)

// Ops are one Converter's live hooks. Like the rest of the Converter, none
// of them is safe for concurrent use: call them from the goroutine that
// feeds it events. The comments of the Converter's methods of the same
// names (in lower case, convert/live.go and convert/convert.go) say more.
type Ops struct {
	// Consume takes one event of the fast decoder (or of x/exp, through
	// tracewire.FromExpEvent), in trace order.
	Consume func(e *tracewire.Event) error
	// SetTakeLimit bounds the events the Converter takes as the decoder's
	// Sink (its Take method): none after t, so that a goroutine dump due
	// at t is applied before them.
	SetTakeLimit func(t exptrace.Time)
	// SetTakeFull makes Take refuse events while full reports true (nil:
	// never), so that the files rotate at their size limit: the events
	// Take converts do not come back to the caller one by one.
	SetTakeFull func(full func() bool)
	// Events is the number of events consumed or taken so far.
	Events func() int64
	// LastTime is the time of the latest event or dump taken in.
	LastTime func() exptrace.Time
	// Gap says the events between the last one and t were not seen (the
	// tracer paused); blocks in progress are carried across.
	Gap func(t exptrace.Time)
	// ApplyDump takes in a goroutine dump taken at time at.
	ApplyDump func(at exptrace.Time, gs []Sampled, solo bool) error
	// Refresh re-reports blocks older than minAge, every step of age.
	Refresh func(minAge, step time.Duration) (int, error)
}
