package analyze

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/wakeshim/wakeshim/internal/waitreason"
	"github.com/wakeshim/wakeshim/records"
)

// The verdicts on the goroutines still blocked at the end of the records
// (docs/report.md, "Verdicts").
const (
	// VerdictLeaked: a goroutineleak profile names it: the GC proved that
	// nothing alive can wake it.
	VerdictLeaked = "leaked"
	// VerdictDeadlocked: the only goroutines that ever woke it are blocked
	// too, in a cycle of such goroutines (or it waits on a nil channel).
	VerdictDeadlocked = "deadlocked"
	// VerdictIdle: a service goroutine waiting for work.
	VerdictIdle = "idle"
	// VerdictSuspect: none of the above.
	VerdictSuspect = "suspect"
)

// Verdict is what is known of one goroutine still blocked at the end.
type Verdict struct {
	TaskID uint32 `json:"task_id"`
	// Name is the goroutine's entry function as a dump names it, with
	// where it was created: "main.main.func1 created at main.go:84".
	Name string `json:"name"`
	// Func is its entry function (package path dropped); CreatedAt the go
	// statement that created it, "FUNC FILE:LINE" ("" when unknown).
	Func      string `json:"func"`
	CreatedAt string `json:"created_at"`
	Verdict   string `json:"verdict"`
	// Severity: "warning" for leaked, deadlocked and a suspect with strong
	// evidence; "info" otherwise.
	Severity string `json:"severity"`
	// Reason is the wait reason as a goroutine dump prints it
	// ("sync.Mutex.Lock", "chan receive", "IO wait"); Group the index of
	// its wait in Pending.
	Reason string   `json:"reason"`
	Group  int      `json:"group"`
	Frames []string `json:"frames"`
	// BlockedNS is how long it has been blocked at the end; SinceNS when
	// that wait began.
	BlockedNS int64 `json:"blocked_ns"`
	SinceNS   int64 `json:"since_ns"`
	// Evidence is the facts the verdict rests on, in words.
	Evidence []string `json:"evidence"`
	// WokenHere counts its earlier waits at this same stack that ended
	// (it was woken from them); Wakes all the wakes of it in the records.
	WokenHere int   `json:"woken_here"`
	Wakes     int64 `json:"wakes"`
	// Spawned: the records saw its go statement (it was created during
	// them).
	Spawned bool `json:"spawned"`
	// Cycle lists the goroutines of its wait cycle (deadlocked), itself
	// included.
	Cycle []uint32 `json:"cycle,omitempty"`
	// Proof is the profile entry that names it (leaked).
	Proof *LeakProof `json:"proof,omitempty"`
	// Process is the process run of the records it belongs to
	// (records.Event.Process: goroutine ids are unique within one only).
	// Not in the JSON: the shipper keeps it (package fleet).
	Process int `json:"-"`

	// A fleet report's verdicts (package fleet) are one per verdict and
	// stack across the instances, the fields above those of the goroutine
	// blocked longest; these say the rest. A file's report leaves them
	// out.
	//
	// Instance is that goroutine's instance; Goroutines all those of the
	// verdict and stack; Instances them by instance, most first;
	// OfInstances the instances of the report.
	Instance    string          `json:"instance,omitempty"`
	Goroutines  int             `json:"goroutines,omitempty"`
	Instances   []InstanceCount `json:"instances,omitempty"`
	OfInstances int             `json:"of_instances,omitempty"`
}

// InstanceCount is how many goroutines of a fleet's group are on one
// instance.
type InstanceCount struct {
	Instance   string `json:"instance"`
	Goroutines int    `json:"goroutines"`
}

// OnInstances says where a fleet's group is: "3 of 40 instance(s): a
// ×2, b, c", naming at most max instances.
func OnInstances(ins []InstanceCount, of, max int) string {
	s := fmt.Sprintf("%d of %d instance(s)", len(ins), of)
	if len(ins) == 0 {
		return s
	}
	var parts []string
	for i, c := range ins {
		if i == max {
			parts = append(parts, fmt.Sprintf("%d more", len(ins)-max))
			break
		}
		p := c.Instance
		if c.Goroutines > 1 {
			p += " ×" + strconv.Itoa(c.Goroutines)
		}
		parts = append(parts, p)
	}
	return s + ": " + strings.Join(parts, ", ")
}

// LeakProof is where a goroutineleak profile names a goroutine.
type LeakProof struct {
	File string `json:"file"`
	Form string `json:"form"`
	// MatchedBy is "id" (debug=2: the goroutine's id, and its stack
	// checked) or "stack" (debug=0 and debug=1 have no ids: a goroutine
	// blocked at the same stack, as many as the profile counts).
	MatchedBy string `json:"matched_by"`
	// State is the profile's wait reason (debug=2).
	State string `json:"state,omitempty"`
}

// VerdictSummary counts the verdicts.
type VerdictSummary struct {
	Leaked     int `json:"leaked"`
	Deadlocked int `json:"deadlocked"`
	Idle       int `json:"idle"`
	Suspect    int `json:"suspect"`
	Warnings   int `json:"warnings"`
	// IdleByFunc is the idle goroutines by entry function, most first.
	IdleByFunc []FuncCount `json:"idle_by_func"`
	// Profile is what the goroutineleak profiles given were.
	Profile LeakProfileInfo `json:"leak_profile"`
}

// FuncCount is a count of goroutines of one entry function.
type FuncCount struct {
	Func  string `json:"func"`
	Count int    `json:"count"`
	// Instances is, in a fleet report, the instances they are on.
	Instances int `json:"instances,omitempty"`
}

// LeakProfileInfo describes the goroutineleak profiles the verdicts used.
type LeakProfileInfo struct {
	Files []string `json:"files"`
	// Named is the leaked goroutines the profiles name; Matched those of
	// them found blocked at the end of the records.
	Named   int `json:"named"`
	Matched int `json:"matched"`
	// Note says, once, what the absence of a profile means.
	Note string `json:"note"`
}

// dumpReason spells a canonical wait reason as a goroutine dump does:
// chan_receive is "chan receive", IO_wait "IO wait".
func dumpReason(r string) string {
	switch r {
	case waitreason.ChanReceiveNil:
		return "chan receive (nil chan)"
	case waitreason.ChanSendNil:
		return "chan send (nil chan)"
	case waitreason.SelectNoCases:
		return "select (no cases)"
	case waitreason.GCWait:
		return "wait for GC cycle"
	case "":
		return "unknown"
	}
	return strings.ReplaceAll(r, "_", " ")
}

// IdleReason returns why a wait of reason r (canonical, as
// internal/waitreason spells it) is a wait on the runtime rather than on
// the program (the network poller, a timer, a system call, the GC): the
// verdict idle whatever else is known of it; "" for the other reasons.
// The shim's metrics judge the goroutines blocked now by it
// (internal/metrics). A switch, not a map: package inits of what the shim
// links must not allocate.
func IdleReason(r string) string {
	switch r {
	case waitreason.IOWait:
		return "waits on the network poller (IO wait): a listener or connection waiting for the peer"
	case waitreason.Sleep:
		return "sleeps: a timer wakes it"
	case waitreason.Syscall:
		return "is in a system call"
	case waitreason.GCAssistWait, waitreason.GCSweepWait, waitreason.GCWait:
		return "waits for the GC"
	case waitreason.SystemGoroutine:
		return "is a runtime goroutine"
	case waitreason.Preempted:
		return "was preempted"
	case waitreason.DebugCall:
		return "waits for a debugger call"
	case waitreason.Synctest:
		return "waits in a synctest bubble"
	}
	return ""
}

// IdleFrame returns why a frame ("FUNC FILE:LINE", as the records give
// it) in a blocked stack marks a wait for outside events (the signal
// channel loop, a ticker, accept, the network poller): the verdict idle;
// "" for other frames.
func IdleFrame(frame string) string {
	for _, s := range serviceFrames {
		if strings.HasPrefix(frame, s.prefix) {
			return s.why
		}
	}
	return ""
}

// serviceFrames are the prefixes IdleFrame knows (an array: no init).
var serviceFrames = [...]struct{ prefix, why string }{
	{"os/signal.", "waits for a signal (os/signal)"},
	{"time.(*Ticker)", "waits on a ticker"},
	{"time.Sleep", "sleeps: a timer wakes it"},
	{"net.(*netFD).accept", "waits on a listener (accept)"},
	{"net.(*TCPListener).Accept", "waits on a listener (accept)"},
	{"internal/poll.", "waits on the network poller"},
}

// NilChannelWait reports whether r is a wait on a nil channel: nothing can
// ever wake it (the verdict deadlocked, unless a leak profile names it).
func NilChannelWait(r string) bool {
	return r == waitreason.ChanReceiveNil || r == waitreason.ChanSendNil
}

// syncWait reports whether r is a wait on a program object (a channel or
// a sync type), the kind a leak or deadlock is made of.
func syncWait(r string) bool {
	switch r {
	case waitreason.ChanReceive, waitreason.ChanSend, waitreason.ChanReceiveNil, waitreason.ChanSendNil,
		waitreason.Select, waitreason.SelectNoCases, waitreason.MutexLock, waitreason.RWMutexLock,
		waitreason.RWMutexRLock, waitreason.WaitGroupWait, waitreason.CondWait, waitreason.Semacquire,
		waitreason.Forever:
		return true
	}
	return false
}

// DisplayName names a goroutine the way a goroutine dump shows it: its
// entry function and, when its go statement is known, "created at
// FILE:LINE" (the file's base name), so that main.main.func1 is told from
// main.main.func2 at a glance.
func DisplayName(fn, createdAt string) string {
	if createdAt == "" {
		return fn
	}
	_, pos, ok := strings.Cut(createdAt, " ")
	if !ok {
		return fn
	}
	return fn + " created at " + filepath.Base(pos)
}

// creation returns a goroutine's entry function (full) and the creator's
// "FUNC FILE:LINE", from its spawn location.
func creation(loc string) (entry, createdAt string) {
	e, rest, found := strings.Cut(loc, " (created at ")
	if !found {
		return "", ""
	}
	return e, strings.TrimSuffix(rest, ")")
}

// verdicts judges every goroutine still blocked at end, once the other
// sections are done (r.Pending is in a.order's order). It reads only the
// state the analyzer holds: the goroutines, their blocks and the wake
// pairs.
func (a *Analyzer) verdicts(r *Report, end int64) {
	r.Verdicts = []Verdict{}
	sum := &r.VerdictSummary
	sum.IdleByFunc = []FuncCount{}
	sum.Profile.Files = []string{}
	var ix *leakIndex
	if len(a.cfg.Leaks) > 0 {
		ix = newLeakIndex(a.cfg.Leaks)
		sum.Profile.Files = ix.files
		sum.Profile.Named = ix.named
	} else {
		sum.Profile.Note = "no goroutineleak profile: leaks are judged by the records alone, which cannot prove one " +
			"(take one with Go 1.27, or Go 1.26 built with GOEXPERIMENT=goroutineleakprofile: pprof.Lookup(\"goroutineleak\"), /debug/pprof/goroutineleak)"
	}
	groupPos := make([]int, len(a.groups))
	for i, gi := range a.order {
		groupPos[gi] = i
	}
	// Per task: wakes received, and the wakers (for the cycles).
	wakes := make([]int64, a.tasks.len())
	wakers := map[int32][]int32{}
	for pi, sk := range a.pairSk.all() {
		if a.pairFolded(pi) {
			continue // (a goroutine that ended: not a candidate; its wakers below)
		}
		wakes[sk.woken] += a.pairL.at(pi).count
		if sk.waker != 0 && sk.waker != sk.woken {
			wakers[sk.woken] = append(wakers[sk.woken], sk.waker)
		}
	}
	for i := range a.sums {
		// Pairs folded at their wakers' ends, of a goroutine alive: the
		// wakes it had, and a waker that cannot be a candidate
		// (endedWaker, never in a cycle).
		if s := &a.sums[i]; !s.dead && s.key[1] >= 0 {
			wakes[s.key[1]] += s.count
			if !slices.Contains(wakers[s.key[1]], endedWaker) {
				wakers[s.key[1]] = append(wakers[s.key[1]], endedWaker)
			}
		}
	}
	type cand struct {
		v      Verdict
		ti     int32
		gi     int32
		reason string
		idle   []string
		key    string
	}
	var cs []*cand
	at := map[int32]int{} // task -> index in cs
	// The goroutines still blocked, by group in order, each group's in
	// the order their blocks began.
	stuck := slices.Clone(a.stuck)
	slices.SortStableFunc(stuck, func(x, y int32) int { return cmp.Compare(a.latest(x).group, a.latest(y).group) })
	for _, sti := range stuck {
		t := a.tasks.at(sti)
		b := a.latest(sti)
		gi := b.group
		g := &a.groups[gi]
		endedOthers, longestEnded, runtimeWoke := int(g.sum.ended), g.sum.longestEnded, g.sum.runtimeWoke
		{
			entry, createdAt := creation(t.loc)
			fn := a.fn(b.task)
			if entry != "" {
				fn = ShortFunc(entry)
			}
			c := &cand{ti: b.task, gi: int32(gi), reason: g.reason, key: recordStackKey(g.frames)}
			c.v = Verdict{TaskID: t.id, Func: fn, CreatedAt: createdAt, Name: DisplayName(fn, createdAt),
				Reason: dumpReason(g.reason), Group: groupPos[gi], Frames: g.frames,
				BlockedNS: max(b.dur, b.last-b.start) + (end - b.last), SinceNS: b.start,
				WokenHere: int(g.sum.endedOf(b.task)), Wakes: wakes[b.task], Spawned: t.spawned, Evidence: []string{}, Process: t.process}
			if why := IdleReason(g.reason); why != "" {
				c.idle = append(c.idle, why)
			}
			for _, f := range g.frames {
				if why := IdleFrame(f); why != "" && !slices.Contains(c.idle, why) {
					c.idle = append(c.idle, why)
				}
			}
			if n := g.sum.endedOf(b.task); n > 0 {
				c.idle = append(c.idle, fmt.Sprintf("woken %d time(s) before from this same wait", n))
			}
			if others := endedOthers - int(g.sum.endedOf(b.task)); others > 0 && g.sum.endedOf(b.task) == 0 && PoolWait(g.reason) {
				c.idle = append(c.idle, fmt.Sprintf("%d earlier wait(s) of other goroutines at this stack ended (longest %s)", others, FmtNS(longestEnded)))
			}
			if runtimeWoke {
				c.idle = append(c.idle, "earlier waits here were ended by the runtime (a timer or the network poller)")
			}
			at[b.task] = len(cs)
			cs = append(cs, c)
		}
	}
	// Proof: the profiles.
	if ix != nil {
		for _, c := range cs {
			t := a.tasks.at(c.ti)
			if e, ok := ix.byID[[2]uint64{uint64(t.process), uint64(t.id)}]; ok {
				if e.key == c.key {
					c.v.Proof = &LeakProof{File: e.file, Form: e.form, MatchedBy: "id", State: e.state}
				} else {
					c.v.Evidence = append(c.v.Evidence, fmt.Sprintf("%s names goroutine %d leaked at another stack (%s): not this wait", e.file, t.id, e.key))
				}
				continue
			}
			if s := ix.byStack[[2]string{strconv.Itoa(t.process), c.key}]; s != nil && s.used < s.count {
				s.used++
				c.v.Proof = &LeakProof{File: s.file, Form: s.form, MatchedBy: "stack"}
			}
		}
	}
	// Cycles: candidates blocked on program objects, not idle, woken only
	// by other such candidates. Peel off those with a waker outside the
	// set until the set is closed.
	in := map[int32]bool{}
	for _, c := range cs {
		if syncWait(c.reason) && len(c.idle) == 0 && len(wakers[c.ti]) > 0 {
			in[c.ti] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for ti := range in {
			for _, w := range wakers[ti] {
				if !in[w] {
					delete(in, ti)
					changed = true
					break
				}
			}
		}
	}
	for ti := range in {
		c := cs[at[ti]]
		cyc := a.cycleOf(ti, in, wakers)
		c.v.Cycle = cyc
		var names []string
		for _, w := range wakers[ti] {
			names = append(names, a.name(w))
		}
		slices.Sort(names)
		c.v.Evidence = append(c.v.Evidence, fmt.Sprintf("the only goroutine(s) that ever woke it (%s) are blocked too: a wait cycle of %d goroutine(s)",
			strings.Join(names, ", "), len(cyc)))
	}
	// The verdicts.
	idleBy := map[string]int{}
	for _, c := range cs {
		v := &c.v
		switch {
		case v.Proof != nil:
			v.Verdict, v.Severity = VerdictLeaked, "warning"
			form := v.Proof.Form
			if v.Proof.MatchedBy == "stack" {
				form += ", matched by stack"
			}
			v.Evidence = append([]string{fmt.Sprintf("named by the goroutineleak profile %s (%s): nothing alive can reach what it waits on", v.Proof.File, form)}, v.Evidence...)
		case in[c.ti]:
			v.Verdict, v.Severity = VerdictDeadlocked, "warning"
		case NilChannelWait(c.reason):
			v.Verdict, v.Severity = VerdictDeadlocked, "warning"
			v.Evidence = append(v.Evidence, "waits on a nil channel: nothing can ever wake it")
		case len(c.idle) > 0:
			v.Verdict, v.Severity = VerdictIdle, "info"
			v.Evidence = append(v.Evidence, c.idle...)
			if ix != nil && syncWait(c.reason) {
				v.Evidence = append(v.Evidence, "not in the goroutineleak profile: the GC found what it waits on reachable")
			}
		default:
			v.Verdict, v.Severity = VerdictSuspect, "info"
			a.suspect(c.reason, v, ix != nil)
		}
		switch v.Verdict {
		case VerdictLeaked:
			sum.Leaked++
		case VerdictDeadlocked:
			sum.Deadlocked++
		case VerdictIdle:
			sum.Idle++
			idleBy[v.Func]++
		case VerdictSuspect:
			sum.Suspect++
		}
		if v.Severity == "warning" {
			sum.Warnings++
		}
		if v.Proof != nil {
			sum.Profile.Matched++
		}
		r.Verdicts = append(r.Verdicts, *v)
	}
	for f, n := range idleBy {
		sum.IdleByFunc = append(sum.IdleByFunc, FuncCount{Func: f, Count: n})
	}
	slices.SortFunc(sum.IdleByFunc, func(x, y FuncCount) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		return cmp.Compare(x.Func, y.Func)
	})
	rank := map[string]int{VerdictLeaked: 0, VerdictDeadlocked: 1, VerdictSuspect: 2, VerdictIdle: 3}
	slices.SortStableFunc(r.Verdicts, func(x, y Verdict) int {
		if c := cmp.Compare(rank[x.Verdict], rank[y.Verdict]); c != 0 {
			return c
		}
		if c := strings.Compare(y.Severity, x.Severity); c != 0 { // warning before info
			return c
		}
		if c := cmp.Compare(y.BlockedNS, x.BlockedNS); c != 0 {
			return c
		}
		return cmp.Compare(x.TaskID, y.TaskID)
	})
}

// suspect sets the evidence of a goroutine none of the rules explain, and
// makes it a warning when that evidence is strong: with no profile, a
// goroutine created during the records and never woken since, blocked for
// at least the Stuck threshold on its first wait, a send or a lock (waits
// a healthy program does not sit in for long; a receive, a select, a
// Cond or a WaitGroup is how service loops and main functions wait for
// work or for the end, and real servers have many that were never woken:
// nats-server's internal send and receive loops). With a profile that does
// not name it, the GC found it reachable: info only.
func (a *Analyzer) suspect(reason string, v *Verdict, profiled bool) {
	switch {
	case profiled:
		v.Evidence = append(v.Evidence, "not in the goroutineleak profile: the GC found what it waits on reachable, so not a leak")
	case !syncWait(reason):
		v.Evidence = append(v.Evidence, fmt.Sprintf("blocked for %s in %s, with no rule to judge it by", FmtNS(v.BlockedNS), v.Reason))
	case v.Spawned && v.Wakes == 0:
		where := ""
		if v.CreatedAt != "" {
			where = " at " + v.CreatedAt
		}
		v.Evidence = append(v.Evidence, fmt.Sprintf("never woken since it was created%s: blocked for %s on its first wait", where, FmtNS(v.BlockedNS)))
		if v.BlockedNS >= int64(a.cfg.Stuck) && strongWait(reason) {
			v.Severity = "warning"
		}
	default:
		v.Evidence = append(v.Evidence, fmt.Sprintf("blocked for %s in %s, woken %d time(s) before elsewhere", FmtNS(v.BlockedNS), v.Reason, v.Wakes))
	}
}

// cycleOf returns one wait cycle through ti within the closed set in,
// following wakers (ti's waker, its waker, ...) until a goroutine repeats:
// the goroutines from ti's first repeat on, ids sorted.
func (a *Analyzer) cycleOf(ti int32, in map[int32]bool, wakers map[int32][]int32) []uint32 {
	seen := map[int32]int{}
	var path []int32
	cur := ti
	for {
		if i, ok := seen[cur]; ok {
			path = path[i:]
			break
		}
		seen[cur] = len(path)
		path = append(path, cur)
		next := int32(-1)
		for _, w := range wakers[cur] {
			if in[w] && (next < 0 || a.tasks.at(w).id < a.tasks.at(next).id) {
				next = w
			}
		}
		if next < 0 {
			break
		}
		cur = next
	}
	ids := make([]uint32, 0, len(path))
	for _, p := range path {
		ids = append(ids, a.tasks.at(p).id)
	}
	if !slices.Contains(ids, a.tasks.at(ti).id) {
		ids = append(ids, a.tasks.at(ti).id)
	}
	slices.Sort(ids)
	return ids
}

// verdictFindings adds a finding per verdict that is a warning, by
// verdict and wait group: the leaked, the deadlocked, the strong
// suspects.
func (a *Analyzer) verdictFindings(r *Report) {
	type key struct {
		verdict string
		group   int
	}
	var order []key
	by := map[key][]*Verdict{}
	for i := range r.Verdicts {
		v := &r.Verdicts[i]
		if v.Severity != "warning" {
			continue
		}
		k := key{v.Verdict, v.Group}
		if by[k] == nil {
			order = append(order, k)
		}
		by[k] = append(by[k], v)
	}
	for _, k := range order[:min(len(order), 10)] {
		vs := by[k]
		v := vs[0] // the longest blocked: Verdicts is sorted so
		what := fmt.Sprintf("g%d %s", v.TaskID, v.Name)
		if len(vs) > 1 {
			what = fmt.Sprintf("%d goroutines (longest g%d %s)", len(vs), v.TaskID, v.Name)
		}
		pg := r.Pending[k.group]
		text := fmt.Sprintf("%s %s: blocked for %s in %s at %s until the end; %s",
			what, k.verdict, FmtNS(v.BlockedNS), v.Reason, stackLeaf(pg.Frames), strings.Join(v.Evidence, "; "))
		nums := map[string]int64{"task_id": int64(v.TaskID), "blocked_ns": v.BlockedNS, "since_ns": v.SinceNS,
			"goroutines": int64(len(vs)), "group": int64(k.group)}
		r.Findings = append(r.Findings, Finding{Kind: k.verdict, Severity: "warning", Text: text, Numbers: nums})
	}
}

// spawnedTask marks a goroutine whose go statement the records saw.
func (a *Analyzer) spawnedTask(ev *records.Event) {
	a.tasks.at(a.task(ev.Process, ev.Task)).spawned = true
}

// strongWait reports whether a wait never woken since the goroutine's
// creation is strong evidence of a bug (see suspect).
func strongWait(r string) bool {
	switch r {
	case waitreason.ChanSend, waitreason.MutexLock, waitreason.RWMutexLock, waitreason.RWMutexRLock, waitreason.Semacquire:
		return true
	}
	return false
}

// PoolWait reports whether r is how a goroutine waits for work to be
// handed to it (a receive, a select, a Cond): then other goroutines woken
// from the same wait make it one of a pool (idle). Goroutines queued on a
// lock or a send are not a pool: the others getting through says nothing
// of this one.
func PoolWait(r string) bool {
	switch r {
	case waitreason.ChanReceive, waitreason.Select, waitreason.CondWait:
		return true
	}
	return false
}
