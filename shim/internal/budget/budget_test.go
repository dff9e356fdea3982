package budget

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func TestUnlimited(t *testing.T) {
	for _, rate := range []float64{math.Inf(1), 1, 2} {
		a := New(rate, t0)
		assert.True(t, a.Accept(t0, 1<<30, false))
		a.Busy(at(time.Second), time.Hour)
		assert.False(t, a.InDebt(at(time.Second)))
	}
}

func TestPausesAndPaysBack(t *testing.T) {
	// 5% of a core: 100ms saved up at most, half of it at the start.
	a := New(0.05, t0)
	assert.Equal(t, 50*time.Millisecond, a.Allowance())
	// A 1MB chunk: 100ns/B expected + 45ns/B for the tracer = 145ms.
	assert.True(t, a.Accept(t0, 1<<20, false))
	assert.True(t, a.InDebt(t0), "spent: the tracer pauses")
	// The conversion took 80ms, less than expected: the difference comes back.
	a.Busy(at(80*time.Millisecond), 80*time.Millisecond)
	assert.True(t, a.InDebt(at(80*time.Millisecond)))
	assert.False(t, a.Accept(at(100*time.Millisecond), 1000, false), "skipped while in debt")
	assert.True(t, a.Accept(at(100*time.Millisecond), 1000, true), "unless it must be converted")
	// Paid back after debt/rate.
	debt := -a.Allowance()
	back := time.Duration(float64(debt)/0.05) + 100*time.Millisecond
	assert.True(t, a.InDebt(at(back-10*time.Millisecond)))
	assert.False(t, a.InDebt(at(back+10*time.Millisecond)))
	// Saving up stops at the cap.
	a.InDebt(at(time.Hour))
	assert.Equal(t, 100*time.Millisecond, a.Allowance())
}

func TestCostPerByteLearned(t *testing.T) {
	a := New(0.5, t0)
	for i := range 10 {
		now := at(time.Duration(i) * time.Second)
		a.Accept(now, 1<<20, true)
		a.Busy(now, 20*time.Millisecond) // 20ms per MiB: about 19ns/B
	}
	assert.InDelta(t, 19, a.CostPerByte(), 3)
	assert.Greater(t, a.TracerCost, 400*time.Millisecond)
}

func TestNextSample(t *testing.T) {
	a := New(0.05, t0)
	// 5%: at most half of it, 2.5%, for the dumps: a 10ms dump waits 400ms.
	assert.Equal(t, at(400*time.Millisecond), a.NextSample(t0, 10*time.Millisecond))
	// 50%: SampleShare, 5%: 200ms.
	assert.Equal(t, at(200*time.Millisecond), New(0.5, t0).NextSample(t0, 10*time.Millisecond))
	// Unlimited: SampleShare, 5%: 200ms.
	assert.Equal(t, at(200*time.Millisecond), New(math.Inf(1), t0).NextSample(t0, 10*time.Millisecond))
	// A dump charged to the account.
	before := a.Allowance()
	a.Charge(10 * time.Millisecond)
	assert.Equal(t, before-10*time.Millisecond, a.Allowance())
}
