// Command leaks reproduces blocking bugs reported in the issue trackers of
// real Go projects (etcd, Kubernetes, gRPC, CockroachDB, Moby, ...), and a
// few healthy programs whose goroutines wait for work, each under the
// execution tracer, for the verdict tests of package analyze.
//
// Each scenario runs in a process of its own (the program re-executes
// itself with -run NAME) and writes, in the output directory:
//
//   - NAME.trace: the execution trace, started before the scenario and
//     stopped once every goroutine but main is blocked;
//   - NAME.leak.txt and NAME.leak.pb.gz: the goroutineleak profile at
//     debug=2 (every goroutine, the leaked ones marked "(leaked)") and
//     debug=0 (protobuf, leaked goroutines only), taken just before the
//     trace stops, when the Go runtime has the profile (Go 1.27, or Go 1.26
//     built with GOEXPERIMENT=goroutineleakprofile);
//   - NAME.json: what the scenario must give (see expect), the Go version
//     and whether the profile was written.
//
// The bugs are the shapes of the GoBench/GoKer collection (Yuan et al.,
// "GoBench: A Benchmark Suite of Real-World Go Concurrency Bugs", CGO
// 2021), which the Go runtime's own leak-profile tests also use, written
// again here so that each leaks deterministically (the original
// interleavings are forced with channels where the bug needs one), with
// the project's issue or pull request cited in each scenario.
//
//	go run -trimpath ./testdata/leaks -o testdata/leaks/out
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strings"
	"time"
)

// leak is a goroutine the scenario must leave leaked: its entry function
// (as the runtime names it, without the "main." package) and how many.
type leak struct {
	Func  string `json:"func"`
	Count int    `json:"count"`
	// Reason is the goroutine dump's wait reason ("chan send",
	// "sync.Mutex.Lock", ...).
	Reason string `json:"reason"`
}

// scenario is one bug or healthy program.
type scenario struct {
	Name string `json:"name"`
	// Issue is the upstream report the bug is modelled on.
	Issue string `json:"issue,omitempty"`
	// Healthy programs leak nothing: every goroutine left blocked waits
	// for work.
	Healthy bool   `json:"healthy"`
	Leaks   []leak `json:"leaks"`
	// Deadlock: the leaked goroutines wait for each other (a lock-order
	// inversion, a goroutine relocking its own lock).
	Deadlock bool `json:"deadlock,omitempty"`
	run      func()
}

var scenarios []*scenario

func register(s *scenario) { scenarios = append(scenarios, s) }

// facts is NAME.json.
type facts struct {
	scenario
	GoVersion string `json:"go_version"`
	// Profile reports whether the goroutineleak profile was written.
	Profile bool `json:"profile"`
	// Settled reports whether every goroutine but main was seen blocked
	// before the trace stopped (false: the deadline passed first).
	Settled bool `json:"settled"`
}

func main() {
	out := flag.String("o", "testdata/leaks/out", "output directory")
	one := flag.String("run", "", "run one scenario in this process")
	list := flag.Bool("list", false, "list the scenarios")
	flag.Parse()
	slices.SortFunc(scenarios, func(a, b *scenario) int { return strings.Compare(a.Name, b.Name) })
	if *list {
		for _, s := range scenarios {
			fmt.Println(s.Name, s.Issue)
		}
		return
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fatal(err)
	}
	if *one != "" {
		for _, s := range scenarios {
			if s.Name == *one {
				runOne(s, *out)
				return
			}
		}
		fatal(fmt.Errorf("no scenario %q", *one))
	}
	names := flag.Args()
	self, err := os.Executable()
	if err != nil {
		fatal(err)
	}
	for _, s := range scenarios {
		if len(names) > 0 && !slices.Contains(names, s.Name) {
			continue
		}
		cmd := exec.Command(self, "-o", *out, "-run", s.Name)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fatal(fmt.Errorf("%s: %v", s.Name, err))
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "leaks:", err)
	os.Exit(1)
}

func runOne(s *scenario, dir string) {
	tf, err := os.Create(filepath.Join(dir, s.Name+".trace"))
	if err != nil {
		fatal(err)
	}
	if err := trace.Start(tf); err != nil {
		fatal(err)
	}
	s.run()
	f := facts{scenario: *s, GoVersion: runtime.Version()}
	f.Settled = settle()
	// Blocked long enough for the converter's 1ms threshold: the
	// goroutines are blocked for good, this only lengthens their wait.
	time.Sleep(5 * time.Millisecond)
	if p := pprof.Lookup("goroutineleak"); p != nil {
		f.Profile = true
		for _, w := range []struct {
			ext   string
			debug int
		}{{".leak.txt", 2}, {".leak.pb.gz", 0}} {
			var b bytes.Buffer
			if err := p.WriteTo(&b, w.debug); err != nil {
				fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, s.Name+w.ext), b.Bytes(), 0o644); err != nil {
				fatal(err)
			}
		}
	}
	trace.Stop()
	if err := tf.Close(); err != nil {
		fatal(err)
	}
	if f.Leaks == nil {
		f.Leaks = []leak{}
	}
	js, _ := json.MarshalIndent(f, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, s.Name+".json"), append(js, '\n'), 0o644); err != nil {
		fatal(err)
	}
	if !f.Settled {
		fmt.Fprintf(os.Stderr, "leaks: %s: goroutines still running at the deadline\n", s.Name)
	}
}

// settle waits until every goroutine of the program's own code (a frame
// in package main) but this one is blocked (not running or runnable) in
// three dumps in a row, or 20s pass. The runtime's and os/signal's
// goroutines (signal_recv sits in a system call) are not waited for.
func settle() bool {
	deadline := time.Now().Add(20 * time.Second)
	quiet := 0
	buf := make([]byte, 1<<20)
	for time.Now().Before(deadline) {
		runtime.Gosched()
		n := runtime.Stack(buf, true)
		busy := false
		for i, block := range strings.Split(string(buf[:n]), "\n\n") {
			if i == 0 {
				continue // this goroutine, always first
			}
			header, _, _ := strings.Cut(block, "\n")
			if (strings.Contains(header, "[running") || strings.Contains(header, "[runnable")) && strings.Contains(block, "\nmain.") {
				busy = true
				break
			}
		}
		if busy {
			quiet = 0
			time.Sleep(time.Millisecond)
			continue
		}
		if quiet++; quiet == 3 {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

// hook forces the interleaving a bug needs: the goroutine calling wait
// goes on only after the one calling done has reached that point.
type hook chan struct{}

func newHook() hook  { return make(hook) }
func (h hook) done() { close(h) }
func (h hook) wait() { <-h }
