package analyze

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/records"
)

// chainText renders a chain for failure messages.
func chainText(c Chain) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s waited %s (%s) woken by %s\n", c.Name, FmtNS(c.WaitNS), c.Reason, c.WakerName)
	for _, l := range c.Links {
		fmt.Fprintf(&b, "%s%s %s %s [%s..%s] %s %s %s\n", strings.Repeat("  ", l.Depth), l.Name, l.Kind, FmtNS(l.ShareNS),
			FmtNS(l.StartNS), FmtNS(l.EndNS), l.Reason, l.WakerName, l.Note)
	}
	return b.String()
}

// chainOf returns the kept chain of the longest wait of goroutine id.
func chainOf(t *testing.T, r *Report, id uint32) Chain {
	t.Helper()
	for _, c := range r.Chains {
		if c.Task == id {
			return c
		}
	}
	var all []string
	for _, c := range r.Chains {
		all = append(all, chainText(c))
	}
	require.Failf(t, "no chain", "for g%d among:\n%s", id, strings.Join(all, "\n"))
	return Chain{}
}

type leafKey struct {
	task uint32
	kind string
}

// planted checks a chain against the planted one: every root share
// (goroutine and kind) within 10% of the duration the program measured,
// the rest of the wait (the few µs each goroutine takes to get going)
// under 3% of it, the shares adding up to the wait, and the woken links,
// depth first, naming the planted goroutines and wakers.
func planted(t *testing.T, c Chain, waitMS float64, want map[leafKey]float64, woken [][2]uint32) {
	t.Helper()
	msg := chainText(c)
	assert.InEpsilon(t, waitMS*1e6, float64(c.WaitNS), 0.10, "the wait\n%s", msg)
	got := map[leafKey]int64{}
	var sum int64
	var gotWoken [][2]uint32
	for _, l := range c.Links {
		if l.Kind == "woken" {
			if float64(l.ShareNS) > 0.2*float64(c.WaitNS) {
				gotWoken = append(gotWoken, [2]uint32{l.Task, l.Waker})
			}
			continue
		}
		sum += l.ShareNS
		got[leafKey{l.Task, l.Kind}] += l.ShareNS
	}
	assert.Equal(t, c.WaitNS, sum, "the shares add up to the wait\n%s", msg)
	assert.False(t, c.Truncated)
	var rest int64
	for k, ns := range got {
		if ms, ok := want[k]; ok {
			assert.InEpsilon(t, ms*1e6, float64(ns), 0.10, "g%d %s\n%s", k.task, k.kind, msg)
		} else {
			rest += ns
		}
	}
	for k := range want {
		assert.Contains(t, got, k, "g%d %s\n%s", k.task, k.kind, msg)
	}
	assert.Less(t, float64(rest), 0.03*float64(c.WaitNS), "unplanted shares\n%s", msg)
	assert.Equal(t, woken, gotWoken, "woken links\n%s", msg)
}

func TestChainPipeline(t *testing.T) {
	var fx struct {
		A, B, C   uint32
		SleepMS   float64 `json:"sleep_ms"`
		ComputeMS float64 `json:"compute_ms"`
		WaitMS    float64 `json:"wait_ms"`
	}
	facts(t, "chains-pipeline", &fx)
	r, _ := analyzeTrace(t, Config{}, "chains-pipeline.trace")
	c := chainOf(t, r, fx.A)
	assert.Equal(t, fx.B, c.Waker)
	assert.Equal(t, "chan_receive", c.Reason)
	planted(t, c, fx.WaitMS, map[leafKey]float64{{fx.C, "cpu"}: fx.ComputeMS, {fx.C, "timer"}: fx.SleepMS},
		[][2]uint32{{fx.B, fx.C}})
	// The CPU link is the first under B's wait: C ran, then woke B.
	for i, l := range c.Links {
		if l.Kind == "woken" && l.Task == fx.B {
			next := c.Links[i+1]
			assert.Equal(t, "cpu", next.Kind)
			assert.Equal(t, fx.C, next.Task)
			assert.Equal(t, l.Depth+1, next.Depth)
			break
		}
	}
}

func TestChainMutex(t *testing.T) {
	var fx struct {
		H, W, S   uint32
		SleepMS   float64 `json:"sleep_ms"`
		ComputeMS float64 `json:"compute_ms"`
		WaitMS    float64 `json:"wait_ms"`
	}
	facts(t, "chains-mutex", &fx)
	r, _ := analyzeTrace(t, Config{}, "chains-mutex.trace")
	c := chainOf(t, r, fx.W)
	assert.Equal(t, fx.H, c.Waker)
	assert.Equal(t, "sync.Mutex.Lock", c.Reason)
	planted(t, c, fx.WaitMS, map[leafKey]float64{{fx.H, "cpu"}: fx.ComputeMS, {fx.S, "timer"}: fx.SleepMS},
		[][2]uint32{{fx.H, fx.S}})
	for _, l := range c.Links {
		if l.Kind == "woken" && l.Task == fx.H {
			assert.Equal(t, "chan_receive", l.Reason, "H waited on the channel, holding the mutex")
		}
	}
	// The group's summary: W's wait went 80% to S's timer, 20% to H's CPU.
	g := r.Pending[c.Group]
	require.NotEmpty(t, g.Roots)
	assert.Equal(t, "timer", g.Roots[0].Kind)
	assert.InDelta(t, 100*fx.SleepMS/fx.WaitMS, g.Roots[0].Percent, 8)
	assert.Equal(t, "cpu", g.Roots[1].Kind)
	assert.Equal(t, "main.mutex.func1.3 created at main.go:184", g.Roots[1].Func, "an anonymous function named with its go statement")
}

func TestChainFanout(t *testing.T) {
	var fx struct {
		R         uint32
		Workers   []uint32
		SleepMS   []float64 `json:"sleep_ms"`
		ComputeMS []float64 `json:"compute_ms"`
		WaitMS    float64   `json:"wait_ms"`
	}
	facts(t, "chains-fanout", &fx)
	r, _ := analyzeTrace(t, Config{}, "chains-fanout.trace")
	c := chainOf(t, r, fx.R)
	slow := fx.Workers[2]
	assert.Equal(t, slow, c.Waker, "the slowest worker decides")
	assert.Equal(t, "sync.WaitGroup.Wait", c.Reason)
	planted(t, c, fx.WaitMS, map[leafKey]float64{{slow, "cpu"}: fx.ComputeMS[2], {slow, "timer"}: fx.SleepMS[2]}, nil)
	for _, l := range c.Links {
		assert.NotContains(t, fx.Workers[:2], l.Task, "the faster workers are not in the chain\n%s", chainText(c))
	}
}

func TestChainSchedulerDelay(t *testing.T) {
	var fx struct {
		A, S, W uint32
		SleepMS float64 `json:"sleep_ms"`
		DelayMS float64 `json:"delay_ms"`
		WaitMS  float64 `json:"wait_ms"`
	}
	facts(t, "chains-sched", &fx)
	r, _ := analyzeTrace(t, Config{}, "chains-sched.trace")
	c := chainOf(t, r, fx.A)
	assert.Equal(t, fx.S, c.Waker)
	planted(t, c, fx.WaitMS, map[leafKey]float64{{fx.S, "scheduler"}: fx.DelayMS, {fx.W, "timer"}: fx.SleepMS},
		[][2]uint32{{fx.S, fx.W}})
	for _, l := range c.Links {
		if l.Kind == "scheduler" && l.Task == fx.S {
			assert.Equal(t, 1, l.Depth, "S was runnable, then ran and woke A")
		}
	}
}

// Hand-made records: the walk through a goroutine whose history was
// dropped, the deferred stack of a CPU root, and the root-cause samples.
func TestChainHistoryBounds(t *testing.T) {
	f := newFeed(t, Config{Chains: 5})
	stk := []string{"[chan_receive]", "runtime.chanrecv1 runtime/chan.go:1", "example.com/app.wait /src/app.go:9"}
	next := []string{"[select]", "example.com/app.loop /src/app.go:20"}
	poll := func(ts uint32, w uint8, task uint32) {
		f.add(format.Record{Code: format.CodePollStart, TS: ts, Worker: w, Task: task}, nil, "")
	}
	end := func(ts uint32, w uint8) { f.add(format.Record{Code: format.CodePollEnd, TS: ts, Worker: w}, nil, "") }
	wake := func(ts uint32, waker, woken uint32) {
		f.add(format.Record{Code: format.CodeWakeEvent, TS: ts, Waker: waker, Task: woken}, nil, "")
	}
	pend := func(ts uint32, task, dur uint32, s []string) {
		f.add(format.Record{Code: format.CodeTaskPending, TS: ts, Task: task, Duration: dur}, s, "")
	}
	// g10 blocks at 100µs. g20 runs from 0 in short polls, each preempted
	// (runnable 1µs), more than the ring holds, until it wakes g10 at
	// 100000µs; then it blocks in a select, woken by the runtime.
	poll(90, 0, 10)
	end(100, 0)
	ts := uint32(0)
	for i := 0; i < 2*chainRing; i++ {
		poll(ts, 1, 20)
		ts += 780
		end(ts, 1)
		ts++
	}
	poll(ts, 1, 20)
	wake(100000, 20, 10)
	pend(100000, 10, 99900, stk)
	end(100500, 1)
	poll(100501, 0, 10)
	end(100502, 0)
	wake(102000, 0, 20)
	pend(102000, 20, 1500, next)
	r := f.a.Report(103000 * 1000)

	c := chainOf(t, r, 10)
	var sum, cpu, sched, unknown int64
	for _, l := range c.Links {
		sum += l.ShareNS
		switch l.Kind {
		case "cpu":
			cpu += l.ShareNS
			assert.Equal(t, next[1:], l.Frames, "the stack of g20's next block, known after the walk")
		case "scheduler":
			sched += l.ShareNS
		case "unknown":
			unknown += l.ShareNS
			assert.Equal(t, "history dropped", l.Note)
		}
	}
	assert.Equal(t, c.WaitNS, sum)
	assert.Equal(t, int64(99900e3), c.WaitNS)
	assert.Positive(t, unknown, "the ring holds %d intervals, not the whole wait", chainRing)
	assert.InDelta(t, 780.0/781, float64(cpu)/float64(cpu+sched), 0.01)
	assert.Equal(t, int64(chainRing/2)*781e3+(100000-int64(ts))*1e3, cpu+sched, "what the ring holds, and the open run")

	var cpuNS int64
	for _, s := range f.a.RootSamples() {
		if s.Kind == "cpu" {
			cpuNS += s.NS
			assert.Equal(t, next, s.Stack)
		}
	}
	assert.Equal(t, cpu, cpuNS)
	g := r.Pending[c.Group]
	assert.Equal(t, c.WaitNS, g.ChainedNS)
	pc := func(ns int64) string {
		return strconv.FormatFloat(math.Round(float64(ns)*100/float64(c.WaitNS)), 'f', 0, 64) + "%"
	}
	assert.Equal(t, pc(unknown)+" unknown, "+pc(cpu)+" CPU in app.loop, <1% other", RootsText(g.Roots, 3))
	assert.Equal(t, "100% timer", RootsText(r.Pending[1-c.Group].Roots, 3), "a select the runtime ended: a timer")
}

// On nats-server under load, a subscriber connection's writeLoop waits on
// its sync.Cond until a publisher's readLoop has messages for it: the
// chain of such a wait goes through the readLoop (its CPU, and its own
// wait on the network), as the messages do.
func TestChainNatsServer(t *testing.T) {
	ins, err := records.Expand([]string{filepath.Join("..", "testdata", "realtraces", "nats-server.trace")})
	require.NoError(t, err)
	r, _, err := Analyze(records.NewRun(ins, records.Options{Convert: convert.Config{Ignore: convert.SystemGoroutine}}),
		Config{Chains: 20})
	require.NoError(t, err)
	require.Len(t, r.Chains, 20)
	crossing := 0
	for i, c := range r.Chains {
		if i > 0 {
			assert.LessOrEqual(t, c.WaitNS, r.Chains[i-1].WaitNS, "longest first")
		}
		var sum int64
		for _, l := range c.Links {
			if l.Kind != "woken" {
				sum += l.ShareNS
			}
			assert.GreaterOrEqual(t, l.StartNS, c.StartNS)
			assert.LessOrEqual(t, l.EndNS, c.EndNS)
		}
		if !c.Truncated {
			assert.Equal(t, c.WaitNS, sum, "shares add up\n%s", chainText(c))
		}
		if !strings.HasSuffix(c.Name, "(*client).writeLoop") || c.Reason != "sync.Cond.Wait" ||
			!strings.HasSuffix(c.WakerName, "(*client).readLoop") {
			continue
		}
		var readCPU, readNet int64
		for _, l := range c.Links {
			if l.Task == c.Waker && l.Depth == 1 {
				switch l.Kind {
				case "cpu":
					readCPU += l.ShareNS
					assert.Equal(t, "IO_wait", l.Reason, "the readLoop's next block: the socket read")
				case "network":
					readNet += l.ShareNS
				}
			}
		}
		if readCPU > 0 && readNet > c.WaitNS/2 {
			crossing++
		}
	}
	assert.GreaterOrEqual(t, crossing, 5, "writeLoop waits explained by a readLoop's CPU and network wait")
	// The groups' summaries: the writeLoop's cond wait went mostly to the
	// network, through the readLoops.
	groups := 0
	for _, g := range r.Pending {
		if g.Reason != "sync.Cond.Wait" || !strings.Contains(strings.Join(g.Frames, "\n"), "(*client).writeLoop") {
			continue
		}
		if groups++; groups > 1 {
			break // the largest of them (shorter ones may be all scheduler delay)
		}
		require.NotEmpty(t, g.Roots)
		text := RootsText(g.Roots, 4)
		assert.Equal(t, "network", g.Roots[0].Kind, text)
		assert.Contains(t, text, "CPU in server.(*client).readLoop")
		// The waits that ended were walked; those still blocked at the end were not.
		assert.LessOrEqual(t, g.ChainedNS, g.TotalNS)
		assert.Greater(t, float64(g.ChainedNS), 0.8*float64(g.TotalNS), text)
	}
	assert.Positive(t, groups)
}

// TestRootProfileByIndex: the root-cause profile's sums, found by index
// (a stack group's by group, a goroutine's by its chain state), give the
// samples a map by the whole key gave, on every trace of testdata/traces
// and testdata/shapes, with the goroutines' ends given (their chain
// states freed) or not.
func TestRootProfileByIndex(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "traces", "*.trace"))
	require.NoError(t, err)
	shapes, err := filepath.Glob(filepath.Join("..", "testdata", "shapes", "*.trace"))
	require.NoError(t, err)
	paths = append(paths, shapes...)
	require.NotEmpty(t, paths)
	var byGroup, byTask int
	for _, p := range paths {
		for _, ends := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/%s/ends=%v", filepath.Base(filepath.Dir(p)), filepath.Base(p), ends), func(t *testing.T) {
				a, err := New(Config{})
				require.NoError(t, err)
				ref := map[profKey]*latAcc{}
				a.ch.profLog = func(kind uint8, gi, ti int32, n, ns int64) {
					k := profKey{kind: kind, group: gi, task: -1}
					if gi < 0 {
						k.task = ti
					}
					if ref[k] == nil {
						ref[k] = &latAcc{}
					}
					ref[k].n += n
					ref[k].us += ns
				}
				ins, err := records.Expand([]string{p})
				require.NoError(t, err)
				opt := records.Options{Pause: a.Pause, End: a.End}
				if !ends {
					opt.End = func(*records.End) {}
				}
				run := records.NewRun(ins, opt)
				for ev, err := range run.Events() {
					require.NoError(t, err)
					a.Add(ev)
				}
				a.Report(run.End)
				for k := range ref {
					if k.group >= 0 {
						byGroup++
					} else {
						byTask++
					}
				}
				assert.Equal(t, refRootSamples(a, ref), a.RootSamples())
			})
		}
	}
	assert.Positive(t, byGroup, "samples of a stack group")
	assert.Positive(t, byTask, "samples of a goroutine")
}

// refRootSamples is RootSamples over a map by the whole key (the sums
// before they were found by index).
func refRootSamples(a *Analyzer, m map[profKey]*latAcc) []RootSample {
	type key struct {
		kind  uint8
		group int32
		fn    string
	}
	var sums sampleSums[key]
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(x, y profKey) int {
		if c := cmp.Compare(x.kind, y.kind); c != 0 {
			return c
		}
		if c := cmp.Compare(x.group, y.group); c != 0 {
			return c
		}
		return cmp.Compare(x.task, y.task)
	})
	for _, pk := range keys {
		k := key{kind: pk.kind, group: pk.group}
		if pk.group < 0 {
			k.fn = a.fn(max(pk.task, 0))
		}
		sums.add(k, m[pk].n, m[pk].us)
	}
	out := make([]RootSample, 0, len(sums.order))
	for _, k := range sums.order {
		var stk []string
		if k.group >= 0 {
			stk = a.groupStack(k.group)
		} else {
			stk = []string{"[" + rootNames[k.kind] + "] " + k.fn}
		}
		out = append(out, RootSample{Stack: stk, Block: k.group >= 0, Kind: rootNames[k.kind], Count: sums.m[k].n, NS: sums.m[k].ns})
	}
	return out
}

// TestWalkCPUIndexReused: a walk's CPU shares by goroutine, searched in
// order and then by an index map kept from walk to walk (cleared, or
// dropped once large), are each walk's own sums, in the order the
// goroutines came.
func TestWalkCPUIndexReused(t *testing.T) {
	a, err := New(Config{Chains: 0})
	require.NoError(t, err)
	for i, n := range []int{3, 40, 17, 600, 25, 2, 300, 30} {
		w := a.newWalk(1, 2, -1, 0, 1000)
		want := map[int32]int64{}
		var order []int32
		for k := range 3 * n {
			x := int32((k*7+i)%n + 1)
			if _, ok := want[x]; !ok {
				order = append(order, x)
			}
			want[x] += int64(k + 1)
			w.addCPU(x, int64(k+1))
		}
		require.Len(t, w.cpuBy, len(order), "walk %d", i)
		for j, cs := range w.cpuBy {
			assert.Equal(t, order[j], cs.task, "walk %d", i)
			assert.Equal(t, want[cs.task], cs.ns, "walk %d, g%d", i, cs.task)
		}
		assert.Equal(t, n > cpuLinear, w.indexed, "walk %d", i)
		if w.indexed {
			assert.Len(t, w.cpuIdx, n, "walk %d: the index holds this walk's goroutines only", i)
		}
		a.endWalk(w)
	}
}
