package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/pprof/profile"

	"github.com/wakeshim/wakeshim/analyze"
)

// WriteRootProfile writes the root-cause profile (Analyzer.RootSamples)
// gzipped: sample types waits/count (how many walks blamed the root) and
// delay/nanoseconds (others' waiting time the root caused), the root's
// stack (for cpu: the stack of that goroutine's next block) and the label
// "root": cpu, network, syscall, timer, scheduler or unknown (and a
// fleet's, "instance").
func WriteRootProfile(w io.Writer, samples []analyze.RootSample) error {
	b := newProfile("waits", "count", "delay", "nanoseconds")
	for _, s := range samples {
		ps := &profile.Sample{Value: []int64{s.Count, s.NS}, Label: map[string][]string{"root": {s.Kind}}}
		if s.Instance != "" {
			ps.Label["instance"] = []string{s.Instance}
		}
		for _, f := range s.Stack {
			ps.Location = append(ps.Location, b.loc(f))
		}
		b.p.Sample = append(b.p.Sample, ps)
	}
	return b.p.Write(w)
}

// chainMinShare: a chain's text shows the links of at least this part of
// the wait (and the woken links above them); the others are summed in one
// line.
const chainMinShare = 0.01

// writeChainsText writes where the top groups' waiting time went and the
// chains of the longest waits.
func writeChainsText(w io.Writer, r *analyze.Report, width, top int) {
	ns := analyze.FmtNS
	n := 0
	for _, g := range r.Pending {
		if len(g.Roots) > 0 {
			n++
		}
	}
	if n > 0 {
		fmt.Fprintf(w, "\nWHERE THE WAITING TIME WENT (the groups above, by the root of each wait's wake chain)\n")
		shown := 0
		for i, g := range r.Pending {
			if shown == top || i == top {
				break
			}
			if len(g.Roots) == 0 {
				continue
			}
			shown++
			writeHanging(w, fmt.Sprintf("  %-2d %s at %s: %s (of %s)", i+1, reasonText(g.Reason), leaf(g.Frames),
				analyze.RootsText(g.Roots, 4), ns(g.ChainedNS)), 7, width)
		}
	}
	if len(r.Chains) == 0 {
		return
	}
	over := ""
	if r.ChainsOf > 0 {
		over = " on " + chainInstances(r.Chains, r.ChainsOf, 5)
	}
	fmt.Fprintf(w, "\nWAKE CHAINS (%d longest waits%s: who kept each waiting, latest first; %% of the wait)\n", len(r.Chains), over)
	for i, c := range r.Chains {
		if i == top {
			break
		}
		name := c.Name
		if c.Instance != "" {
			name = c.Instance + " " + name
		}
		head := fmt.Sprintf("%s waited %s in %s at %s (@%s)", name, ns(c.WaitNS), reasonText(c.Reason), leaf(c.Frames), ns(c.StartNS))
		if c.WakerName != "" && c.Waker != 0 {
			head += ", woken by " + c.WakerName
		}
		writeHanging(w, "  "+head, 6, width)
		writeChainLinks(w, c, width)
		writeHanging(w, "    roots: "+analyze.RootsText(c.Roots, 4), 11, width)
	}
	more(w, len(r.Chains), top)
}

// chainInstances is a fleet's chains' instances: "2 of 40 instance(s): a
// ×6, b ×4" (at most n named).
func chainInstances(cs []analyze.Chain, of, n int) string {
	var on []analyze.InstanceCount
	idx := map[string]int{}
	for _, c := range cs {
		i, ok := idx[c.Instance]
		if !ok {
			i = len(on)
			idx[c.Instance] = i
			on = append(on, analyze.InstanceCount{Instance: c.Instance})
		}
		on[i].Goroutines++
	}
	slices.SortStableFunc(on, func(x, y analyze.InstanceCount) int { return y.Goroutines - x.Goroutines })
	return analyze.OnInstances(on, of, n)
}

func writeChainLinks(w io.Writer, c analyze.Chain, width int) {
	ns := analyze.FmtNS
	min := int64(chainMinShare * float64(c.WaitNS))
	// A woken link is shown when one of the links under it is.
	show := make([]bool, len(c.Links))
	for i := len(c.Links) - 1; i >= 0; i-- {
		l := c.Links[i]
		if l.Kind != "woken" {
			show[i] = l.ShareNS >= min
			continue
		}
		for j := i + 1; j < len(c.Links) && c.Links[j].Depth > l.Depth; j++ {
			if show[j] {
				show[i] = true
				break
			}
		}
	}
	var hidden, hiddenNS int64
	for i, l := range c.Links {
		if !show[i] {
			if l.Kind != "woken" {
				hidden++
				hiddenNS += l.ShareNS
			}
			continue
		}
		share := " (" + pctOf(l.ShareNS, c.WaitNS) + ")"
		var s string
		d := ns(l.ShareNS)
		switch l.Kind {
		case "cpu":
			s = fmt.Sprintf("%s ran %s on P%d%s", l.Name, d, l.Worker, share)
			if len(l.Frames) > 0 {
				s += ", then blocked in " + reasonText(l.Reason) + " at " + leaf(l.Frames)
			}
		case "scheduler":
			s = fmt.Sprintf("%s was runnable %s, not running: scheduler delay%s", l.Name, d, share)
			if l.QueueMax > 0 {
				s += fmt.Sprintf(", global run queue up to %d", l.QueueMax)
			}
		case "timer":
			if l.Reason == "sleep" {
				s = fmt.Sprintf("%s slept %s at %s (timer)%s", l.Name, d, leaf(l.Frames), share)
			} else {
				s = fmt.Sprintf("%s waited %s in %s at %s, ended by a timer%s", l.Name, d, reasonText(l.Reason), leaf(l.Frames), share)
			}
		case "network":
			s = fmt.Sprintf("%s waited %s on the network at %s%s", l.Name, d, leaf(l.Frames), share)
		case "syscall":
			s = fmt.Sprintf("%s was in a syscall %s at %s%s", l.Name, d, leaf(l.Frames), share)
		case "woken":
			s = fmt.Sprintf("%s was blocked %s in %s at %s, woken by %s%s:", l.Name, d, reasonText(l.Reason), leaf(l.Frames), l.WakerName, share)
		default:
			s = fmt.Sprintf("%s %s unknown%s", l.Name, d, share)
			if l.Note != "" {
				s += ": " + l.Note
			}
		}
		ind := 2 + 2*l.Depth
		writeHanging(w, strings.Repeat(" ", ind)+s, ind+4, width)
	}
	if hidden > 0 {
		fmt.Fprintf(w, "    +%d shorter link(s), %s (%s)\n", hidden, ns(hiddenNS), pctOf(hiddenNS, c.WaitNS))
	}
	if c.Truncated {
		fmt.Fprintln(w, "    (chain cut at its link limit)")
	}
}

func pctOf(part, whole int64) string {
	if whole <= 0 {
		return "-"
	}
	p := float64(part) * 100 / float64(whole)
	if p < 1 {
		return "<1%"
	}
	return strconv.FormatFloat(p, 'f', 0, 64) + "%"
}

func reasonText(r string) string {
	if r == "" {
		return "an unknown wait"
	}
	return strings.ReplaceAll(r, "_", " ")
}

// leaf is the innermost frame's function outside the runtime, short.
func leaf(frames []string) string {
	if len(frames) == 0 {
		return "(no stack)"
	}
	f := frames[0]
	for _, x := range frames {
		if !strings.HasPrefix(x, "runtime.") {
			f = x
			break
		}
	}
	fn, _, _ := strings.Cut(f, " ")
	return analyze.ShortFunc(fn)
}

// writeHanging writes a line wrapped at width (0: no wrap), continuation
// lines indented by indent spaces.
func writeHanging(w io.Writer, line string, indent, width int) {
	lead := len(line) - len(strings.TrimLeft(line, " "))
	words := strings.Fields(line)
	cur := line[:lead]
	n := lead
	for i, word := range words {
		wl := utf8.RuneCountInString(word)
		if i > 0 && width > 0 && n+1+wl > width {
			fmt.Fprintln(w, cur)
			cur, n = strings.Repeat(" ", indent)+word, indent+wl
			continue
		}
		if i > 0 {
			cur += " "
			n++
		}
		cur += word
		n += wl
	}
	fmt.Fprintln(w, cur)
}
