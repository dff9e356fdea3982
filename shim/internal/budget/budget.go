// Package budget keeps the shim's CPU account: how much of one CPU the shim
// may cost its host, what it has spent, and whether the tracer must pause
// until the debt is paid back.
//
// It is pure bookkeeping: the caller passes the time and the costs in, so
// the pause logic is tested without a clock or a scheduler.
package budget

import (
	"math"
	"time"
)

// TracerNsPerByte estimates what the execution tracer costs the program
// per byte of trace it writes (in the program's own goroutines, where the
// shim cannot measure it): about 45ns on the loopback HTTP benchmark
// (Go 1.26, amd64), where the tracer alone added 14-16% of CPU per request
// for 4.8MB/s of trace. It is charged with the conversion.
const TracerNsPerByte = 45

// InitialCostPerByte is the conversion cost per byte of trace assumed until
// the worker has measured its own (about 100ns on the same benchmark).
const InitialCostPerByte = 100

// SampleShare is the most of one CPU the goroutine dumps may take, whatever
// the budget: after a dump that cost d, the next waits at least d/share.
const SampleShare = 0.05

// Window is how long the account may save up: the budget times Window is
// the most the shim can spend at once after being idle.
const Window = 2 * time.Second

// Account is a CPU account. The zero value is not usable; use New.
type Account struct {
	rate float64 // share of one CPU; +Inf: no limit

	allowance  time.Duration
	precharged time.Duration // expected cost of accepted chunks, charged ahead
	last       time.Time     // last refill

	// costPerByte is the recent conversion cost, in ns per byte of trace;
	// busySum and chargedBytes accumulate the next measurement.
	costPerByte  float64
	busySum      time.Duration
	chargedBytes int64

	// TracerCost is the tracer's estimated cost charged so far.
	TracerCost time.Duration
}

// New returns an account for rate, a share of one CPU (+Inf or any value
// >= 1: no limit), opened at now with half its cap to spend.
func New(rate float64, now time.Time) *Account {
	a := &Account{rate: rate, last: now, costPerByte: InitialCostPerByte}
	a.allowance = a.cap() / 2
	return a
}

// Unlimited reports an account without a limit.
func (a *Account) Unlimited() bool { return math.IsInf(a.rate, 1) || a.rate >= 1 }

func (a *Account) cap() time.Duration {
	if a.Unlimited() {
		return 0
	}
	return time.Duration(a.rate * float64(Window))
}

// refill credits the time since the last refill, up to the cap.
func (a *Account) refill(now time.Time) {
	if a.Unlimited() {
		return
	}
	if now.After(a.last) {
		a.allowance += time.Duration(a.rate * float64(now.Sub(a.last)))
		a.last = now
	}
	a.allowance = min(a.allowance, a.cap())
}

// Accept decides at now whether to convert a chunk of n bytes of trace:
// yes while the account is in credit, or always when must (a Flush or
// Stop wants it). An accepted chunk's expected conversion cost and the
// tracer's estimated cost are charged at once, so that the tracer pauses
// at its next snapshot rather than after the conversion.
func (a *Account) Accept(now time.Time, n int64, must bool) bool {
	if a.Unlimited() {
		return true
	}
	a.refill(now)
	if a.allowance <= 0 && !must {
		return false
	}
	est := time.Duration(a.costPerByte * float64(n))
	a.precharged += est
	a.allowance -= est
	a.chargedBytes += n
	tc := time.Duration(TracerNsPerByte * float64(n))
	a.allowance -= tc
	a.TracerCost += tc
	return true
}

// Busy settles the time the worker was busy converting since the last
// call (the chunks it accepted were charged ahead; the difference is
// charged now) and updates the measured cost per byte.
func (a *Account) Busy(now time.Time, d time.Duration) {
	a.busySum += d
	if !a.Unlimited() {
		a.allowance -= d - a.precharged
	}
	a.precharged = 0
	if a.chargedBytes > 1<<16 {
		c := float64(a.busySum) / float64(a.chargedBytes)
		a.costPerByte = 0.7*a.costPerByte + 0.3*c
		a.busySum, a.chargedBytes = 0, 0
	}
	a.refill(now)
}

// Charge charges d, the cost of a goroutine dump.
func (a *Account) Charge(d time.Duration) {
	if !a.Unlimited() {
		a.allowance -= d
	}
}

// InDebt reports whether the budget is spent: the tracer is to pause.
func (a *Account) InDebt(now time.Time) bool {
	if a.Unlimited() {
		return false
	}
	a.refill(now)
	return a.allowance <= 0
}

// Allowance returns what may still be spent.
func (a *Account) Allowance() time.Duration { return a.allowance }

// CostPerByte returns the measured conversion cost, in ns per byte.
func (a *Account) CostPerByte() float64 { return a.costPerByte }

// NextSample returns when the next goroutine dump may be taken after one
// that started at t0 and cost cost: the dumps may take SampleShare of one
// CPU, and at most half the budget, so that a program with very many
// goroutines (a dump of 20,000 takes about 30ms) is dumped less often. The
// share is the same while the tracer is paused: the dumps are then what
// keeps the age of stuck goroutines on disk.
func (a *Account) NextSample(t0 time.Time, cost time.Duration) time.Time {
	share := SampleShare
	if !a.Unlimited() {
		share = min(share, a.rate/2)
	}
	return t0.Add(time.Duration(float64(cost) / share))
}
