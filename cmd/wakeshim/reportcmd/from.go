package reportcmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"time"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/fleet"
	"github.com/wakeshim/wakeshim/internal/textwidth"
	"github.com/wakeshim/wakeshim/report"
)

// runFrom is `wakeshim report -from URL`: the report over the records of
// a fleet in ClickHouse.
func runFrom(name string, args []string, o *options, stdout, stderr io.Writer, usageErr func(string, ...any) int) int {
	start := time.Now()
	switch {
	case o.from == "":
		return usageErr("-service, -instance, -since and -until go with -from URL")
	case o.service == "":
		return usageErr("-from needs -service NAME")
	case len(args) > 0:
		return usageErr("-from reads ClickHouse, not INPUTs (%s)", args[0])
	case o.jsonOut == "-" && o.htmlOut == "-":
		return usageErr("-json - and -html -: only one of them can go to standard output")
	case o.cfg.WindowLen != 100*time.Millisecond:
		return usageErr("-window-len does not go with -from: each load shipped its 100ms window with the most wakes (-window START:END picks among those)")
	}
	now := time.Now()
	var opt fleet.ReportOptions
	opt.Service, opt.Instance, opt.Top, opt.SlowWake = o.service, o.instance, max(o.top, 1000), o.cfg.SlowWake
	opt.Chains = o.chains
	opt.Window, opt.WindowStart, opt.WindowEnd = o.cfg.WindowSet, o.cfg.WindowStart, o.cfg.WindowEnd
	if o.chains == 0 {
		opt.Chains = -1
	}
	for _, f := range []struct {
		flag, v string
		t       *time.Time
	}{{"-since", o.since, &opt.Since}, {"-until", o.until, &opt.Until}} {
		if f.v == "" {
			continue
		}
		if d, err := time.ParseDuration(f.v); err == nil && d >= 0 {
			*f.t = now.Add(-d)
		} else if t, err := time.Parse(time.RFC3339Nano, f.v); err == nil {
			*f.t = t
		} else {
			return usageErr("%s %q: want a duration before now (1h) or an RFC 3339 time", f.flag, f.v)
		}
	}
	if !opt.Since.IsZero() && !opt.Until.IsZero() && !opt.Until.After(opt.Since) {
		return usageErr("-until is not after -since")
	}
	c, err := fleet.NewClient(o.from)
	if err != nil {
		return usageErr("-from: %v", err)
	}
	c.Retries = 2
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, spreads, err := fleet.Report(ctx, c, opt)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	var profs *fleet.Profiles
	if o.pprofDir != "" {
		if profs, err = fleet.ReportProfiles(ctx, c, opt); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return 1
		}
	}
	if err := writeFrom(rep, spreads, profs, o, stdout); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	if !o.quiet {
		fmt.Fprintf(stderr, "%s: %s: %d file(s) of %d instance(s), %d records, %d wakes, %d blocks in %d groups, %v\n",
			name, c.URL(), len(rep.Inputs), instances(spreads), rep.Records, rep.WakesTotal, rep.PendingTotal, len(rep.Pending),
			time.Since(start).Round(time.Millisecond))
	}
	return 0
}

func instances(s []fleet.Spread) int {
	if len(s) == 0 {
		return 0
	}
	return s[0].Of
}

func writeFrom(rep *analyze.Report, spreads []fleet.Spread, profs *fleet.Profiles, o *options, stdout io.Writer) error {
	data, err := writeJSONOut(rep, o, stdout)
	if err != nil {
		return err
	}
	if o.pprofDir != "" {
		// The pending profile from the groups ClickHouse made; the
		// latency and root-cause profiles from the loads' own samples
		// (made by the shipper's analysis, which reads the records in
		// time order), summed by ClickHouse, by instance.
		if err := os.MkdirAll(o.pprofDir, 0o755); err != nil {
			return err
		}
		if err := writeOut(filepath.Join(o.pprofDir, "pending.pb.gz"), nil, func(w io.Writer) error {
			return report.WritePendingProfile(w, analyze.GroupSamples(rep))
		}); err != nil {
			return err
		}
		if err := writeOut(filepath.Join(o.pprofDir, "latency.pb.gz"), nil, func(w io.Writer) error {
			return report.WriteLatencyProfile(w, profs.Latency)
		}); err != nil {
			return err
		}
		if err := writeOut(filepath.Join(o.pprofDir, "roots.pb.gz"), nil, func(w io.Writer) error {
			return report.WriteRootProfile(w, profs.Roots)
		}); err != nil {
			return err
		}
	}
	if o.jsonOut != "-" && o.htmlOut != "-" {
		width := 100
		if o.wide {
			width = 0
		}
		var buf bytes.Buffer
		report.WriteText(&buf, rep, width, o.top)
		if len(spreads) > 0 {
			fmt.Fprintf(&buf, "\nWAIT GROUPS BY INSTANCE (the groups above, in their order)\n")
			fmt.Fprintf(&buf, "  #   ON INSTANCES  STILL BLOCKED ON\n")
			for i, s := range spreads {
				if i == o.top {
					break
				}
				fmt.Fprintf(&buf, "  %-3d %-13s %d\n", i+1, fmt.Sprintf("%d of %d", s.Instances, s.Of), s.StillBlockedOn)
			}
		}
		writeStuck(&buf, rep, width, o.top)
		writeRootsByInstance(&buf, rep, width, o.top)
		writePsByInstance(&buf, rep, width, o.top)
		writeLatencyByInstance(&buf, rep, width, o.top)
		writePauses(&buf, rep, width, o.top)
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			return err
		}
	}
	if o.htmlOut != "" {
		if err := writeOut(o.htmlOut, stdout, func(w io.Writer) error { return writeHTML(w, data) }); err != nil {
			return fmt.Errorf("-html %s: %w", o.htmlOut, err)
		}
	}
	return nil
}

// writeStuck breaks each stuck group (goroutines still blocked in it at
// the end) down by instance: a stuck group on 3 of 40 instances.
func writeStuck(w io.Writer, rep *analyze.Report, width, top int) {
	ns := analyze.FmtNS
	var rows [][]string
	groups := 0
	for i, g := range rep.Pending {
		if i == top {
			break
		}
		if len(g.Instances) == 0 {
			continue
		}
		groups++
		for j, in := range g.Instances {
			if j == 10 {
				rows = append(rows, []string{"", fmt.Sprintf("... %d more instance(s) (-json)", len(g.Instances)-j), "", "", "", "", "", ""})
				break
			}
			num := ""
			if j == 0 {
				num = strconv.Itoa(i + 1)
			}
			end := "-"
			if in.StillBlocked > 0 {
				end = strconv.Itoa(in.StillBlocked)
			}
			rows = append(rows, []string{num, in.Instance, strconv.Itoa(in.Count), ns(in.TotalNS), ns(in.P50NS), ns(in.P99NS), ns(in.MaxNS), end})
		}
	}
	if groups == 0 {
		return
	}
	fmt.Fprintf(w, "\nSTUCK GROUPS BY INSTANCE (%d group(s) above with goroutines still blocked at the end; #: the group's)\n", groups)
	textwidth.Table(w, width, "  ", []string{"#", "INSTANCE", "COUNT", "TOTAL", "P50", "P99", "MAX", "AT END"}, rows, nil, 1, -1)
}

// writeLatencyByInstance is the wake-to-run latency of each instance,
// those with the most slow wakes first.
func writeLatencyByInstance(w io.Writer, rep *analyze.Report, width, top int) {
	ls := rep.Latency.Instances
	if len(ls) == 0 {
		return
	}
	ns := analyze.FmtNS
	slow := ns(rep.Config.SlowWakeNS)
	fmt.Fprintf(w, "\nWAKE -> RUN LATENCY BY INSTANCE (%d instance(s), most wakes of %s or more first)\n", len(ls), slow)
	var rows [][]string
	for i, l := range ls {
		if i == top {
			break
		}
		rows = append(rows, []string{l.Instance, strconv.FormatInt(l.Wakes, 10), ns(l.P50NS), ns(l.P99NS), ns(l.MaxNS),
			strconv.FormatInt(l.Slow, 10), strconv.FormatInt(l.Over10x, 10)})
	}
	textwidth.Table(w, width, "  ", []string{"INSTANCE", "WAKES", "P50", "P99", "MAX", ">= " + slow, ">= " + ns(10*rep.Config.SlowWakeNS)}, rows, nil, 0, -1)
	if len(ls) > top {
		fmt.Fprintf(w, "  ... %d more (-top, -json)\n", len(ls)-top)
	}
}

// writePauses is the stop-the-world pauses over the fleet: by instance
// and reason, most paused time first, then the longest.
func writePauses(w io.Writer, rep *analyze.Report, width, top int) {
	p := rep.Pauses
	if p == nil {
		return
	}
	ns := analyze.FmtNS
	fmt.Fprintf(w, "\nSTOP-THE-WORLD PAUSES (%d, %s in all, max %s, on %d of %d instance(s); by instance and reason, most paused first)\n",
		p.Count, ns(p.TotalNS), ns(p.MaxNS), p.Instances, p.OfInstances)
	var rows [][]string
	for i, g := range p.ByInstance {
		if i == top {
			break
		}
		rows = append(rows, []string{g.Instance, g.Reason, strconv.FormatInt(g.Count, 10), ns(g.TotalNS), ns(g.MaxNS)})
	}
	textwidth.Table(w, width, "  ", []string{"INSTANCE", "REASON", "COUNT", "TOTAL", "MAX"}, rows, nil, 1, -1)
	if len(p.ByInstance) > top {
		fmt.Fprintf(w, "  ... %d more (-top, -json)\n", len(p.ByInstance)-top)
	}
	if len(p.Longest) == 0 {
		return
	}
	fmt.Fprintf(w, "  the longest:\n")
	rows = rows[:0]
	for i, l := range p.Longest {
		if i == top {
			break
		}
		rows = append(rows, []string{ns(l.DurationNS), "@" + ns(l.TS), l.Instance, l.Reason})
	}
	textwidth.Table(w, width, "  ", []string{"PAUSE", "AT", "INSTANCE", "REASON"}, rows, nil, 3, -1)
}

// writeRootsByInstance says, for the groups' roots of the wake chains
// (WHERE THE WAITING TIME WENT), on how many instances each was found,
// with its waits and the largest share of one.
func writeRootsByInstance(w io.Writer, rep *analyze.Report, width, top int) {
	ns := analyze.FmtNS
	of := instancesOf(rep)
	var rows [][]string
	groups := 0
	for i, g := range rep.Pending {
		if i == top {
			break
		}
		if len(g.Roots) == 0 {
			continue
		}
		groups++
		for j, rs := range g.Roots {
			if j == 4 {
				rows = append(rows, []string{"", fmt.Sprintf("... %d more root(s) (-json)", len(g.Roots)-j), "", "", "", "", ""})
				break
			}
			num := ""
			if j == 0 {
				num = strconv.Itoa(i + 1)
			}
			root := rs.Kind
			if rs.Kind == "cpu" {
				root = "CPU in " + rs.Func
			}
			rows = append(rows, []string{num, root, fmt.Sprintf("%.0f%%", rs.Percent), ns(rs.NS), strconv.FormatInt(rs.Waits, 10), ns(rs.MaxNS),
				fmt.Sprintf("%d of %d", rs.Instances, of)})
		}
	}
	if groups == 0 {
		return
	}
	fmt.Fprintf(w, "\nWAIT ROOTS BY INSTANCE (the roots of %d group(s) above, by the wake chains of their waits; #: the group's)\n", groups)
	textwidth.Table(w, width, "  ", []string{"#", "ROOT", "SHARE", "TIME", "WAITS", "MAX", "ON"}, rows, nil, 1, -1)
}

// instancesOf is the instances of a fleet's report.
func instancesOf(rep *analyze.Report) int {
	of := rep.ChainsOf
	for _, g := range rep.Pending {
		of = max(of, g.OfInstances)
	}
	return of
}

// writePsByInstance is the Ps of each instance, the busiest share
// first: a saturated instance among idle ones.
func writePsByInstance(w io.Writer, rep *analyze.Report, width, top int) {
	ws := rep.WorkersByInstance
	if len(ws) == 0 {
		return
	}
	ns := analyze.FmtNS
	fmt.Fprintf(w, "\nPs BY INSTANCE (%d instance(s), the busiest share first; BUSY%%: of the Ps' time)\n", len(ws))
	var rows [][]string
	for i, x := range ws {
		if i == top {
			break
		}
		busy := "-"
		if x.SpanNS > 0 && x.Ps > 0 {
			busy = fmt.Sprintf("%.0f%%", 100*float64(x.BusyNS)/(float64(x.SpanNS)*float64(x.Ps)))
		}
		rows = append(rows, []string{x.Instance, strconv.Itoa(x.Ps), ns(x.BusyNS), busy, ns(x.ParkedNS), strconv.FormatInt(x.Polls, 10), ns(x.SpanNS)})
	}
	textwidth.Table(w, width, "  ", []string{"INSTANCE", "Ps", "BUSY", "BUSY%", "PARKED", "POLLS", "COVERED"}, rows, nil, 0, -1)
	if len(ws) > top {
		fmt.Fprintf(w, "  ... %d more (-top, -json)\n", len(ws)-top)
	}
}
