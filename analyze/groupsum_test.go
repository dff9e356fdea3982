package analyze

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/format"
)

// feedBlocks gives f n blocks of each of goroutines 10 and 11 at one stack,
// of growing lengths, woken by 5 or (every third) by the runtime; 11's
// last one still blocked at the end.
func feedBlocks(f *feed, n int) {
	stk := []string{"[chan_receive]", "runtime.chanrecv1 runtime/chan.go:1", "example.com/app/srv.(*pool).worker /src/srv.go:40"}
	ts := uint32(100)
	f.add(format.Record{Code: format.CodePollStart, TS: 10, Worker: 1, Task: 5}, nil, locFeeder)
	for i := range n {
		for _, g := range []uint32{10, 11} {
			dur := uint32(1000 + (i*37)%5000)
			f.add(format.Record{Code: format.CodePollStart, TS: ts, Worker: 0, Task: g}, nil, locWorker)
			f.add(format.Record{Code: format.CodePollEnd, TS: ts + 1, Worker: 0}, nil, "")
			ts += 1 + dur
			if g == 11 && i == n-1 {
				f.add(format.Record{Code: format.CodeTaskPending, TS: ts, Task: g, Duration: dur}, stk, "")
				break
			}
			waker := uint32(5)
			if i%3 == 0 {
				waker = 0
			}
			f.add(format.Record{Code: format.CodeWakeEvent, TS: ts, Waker: waker, Task: g}, nil, "")
			f.add(format.Record{Code: format.CodeTaskPending, TS: ts, Task: g, Duration: dur}, stk, "")
			ts += 2
		}
	}
}

// TestBlocksSummedAsTheyCome: without KeepBlocks the analyzer keeps no
// block past its goroutine's next one (memory follows the goroutines and
// groups, not the number of blocks), and the group's summary is what the
// blocks themselves give: exactly, but for p50 and p99, within 1/16.
func TestBlocksSummedAsTheyCome(t *testing.T) {
	const n = 5000
	f := newFeed(t, Config{})
	feedBlocks(f, n)
	assert.Empty(t, f.a.kept, "no block kept")
	latest := 0
	for range f.a.Blocks() {
		latest++
	}
	assert.Equal(t, 2, latest, "Blocks without KeepBlocks: the goroutines' latest blocks only")
	r := f.a.Report(f.a.lastT)
	assert.Empty(t, f.a.kept, "no block kept after the report")

	k := newFeed(t, Config{KeepBlocks: true})
	feedBlocks(k, n)
	rk := k.a.Report(k.a.lastT)
	var durs []int64
	var total int64
	for b := range k.a.Blocks() {
		durs = append(durs, b.Duration)
		total += b.Duration
	}
	require.Len(t, durs, 2*n)
	slices.Sort(durs)

	require.Len(t, r.Pending, 1)
	g := r.Pending[0]
	assert.Equal(t, 2*n, g.Count)
	assert.Equal(t, total, g.TotalNS)
	assert.Equal(t, durs[len(durs)-1], g.MaxNS)
	assert.Equal(t, 2, g.Goroutines)
	assert.Equal(t, 2, g.StillBlocked, "the latest blocks: no PollStart after them")
	assert.Equal(t, 1, g.MaxAtOnce, "one after another")
	for _, q := range []struct {
		got int64
		p   float64
	}{{g.P50NS, 0.5}, {g.P99NS, 0.99}} {
		exact := percentile(durs, q.p)
		assert.GreaterOrEqual(t, q.got, exact)
		assert.LessOrEqual(t, float64(q.got), float64(exact)*(1+1.0/16), "p%v within 1/16", q.p*100)
	}
	// The same report as with every block kept.
	assert.Equal(t, rk.Pending, r.Pending)
	assert.Equal(t, rk.Verdicts, r.Verdicts)
	assert.Equal(t, k.a.PendingSamples(), f.a.PendingSamples())
}
