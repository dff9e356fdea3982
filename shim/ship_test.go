package shim_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/fleet"
	"github.com/wakeshim/wakeshim/format"
	"github.com/wakeshim/wakeshim/internal/chserver"
	"github.com/wakeshim/wakeshim/shim"
	"github.com/wakeshim/wakeshim/shim/auto"
)

// shipStats is what a ship helper prints of its session.
type shipStats struct {
	PID    int
	Stats  shim.Stats
	StopMS float64    // how long Stop took (shipbusy)
	Before shim.Stats // just before Stop (shipbudget)
}

// churnWakes makes wakes for a while: 50 goroutines, each woken once.
func churnWakes() {
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := make(chan int)
			go func() { c <- 1 }()
			<-c
		}()
	}
	wg.Wait()
}

// shipHelper is the program of the ship tests, run with WAKESHIM set
// (ship=...). SHIP_LINKS names a directory where every file is linked
// before the shim tries to ship it, so that the test can read what the
// shim removed.
func shipHelper(mode string) {
	if links := os.Getenv("SHIP_LINKS"); links != "" {
		shim.SetBeforeShip(func(files []string) {
			for _, f := range files {
				if err := os.Link(f, filepath.Join(links, filepath.Base(f))); err != nil && !errors.Is(err, os.ErrExist) {
					fmt.Fprintln(os.Stderr, "link:", err)
				}
			}
		})
	}
	s := auto.Session()
	if s == nil {
		fmt.Fprintln(os.Stderr, "no session")
		os.Exit(2)
	}
	var stopMS float64
	done := func() {
		b, _ := json.Marshal(shipStats{PID: os.Getpid(), Stats: s.Stats(), StopMS: stopMS})
		fmt.Printf("SHIPSTATS %s\n", b)
	}
	deadline := time.Now().Add(120 * time.Second)
	switch mode {
	case "shipbusy": // wakes for SHIP_FOR, or until the file SHIP_STOP exists; then Stop
		end := time.Now().Add(3 * time.Second)
		if d, err := time.ParseDuration(os.Getenv("SHIP_FOR")); err == nil {
			end = time.Now().Add(d)
		}
		stop := os.Getenv("SHIP_STOP")
		pace, _ := time.ParseDuration(os.Getenv("SHIP_PACE"))
		for time.Now().Before(deadline) {
			churnWakes()
			time.Sleep(pace)
			if stop == "" && time.Now().After(end) {
				break
			}
			if stop != "" && fileExists(stop) {
				break
			}
		}
		t0 := time.Now()
		if err := s.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "Stop:", err)
		}
		stopMS = float64(time.Since(t0)) / 1e6
		done()
	case "shipbudget": // every load charged SHIP_CHARGE: wakes until a round was held and 3 files wait; then Stop
		charge, _ := time.ParseDuration(os.Getenv("SHIP_CHARGE"))
		shim.SetShipCharge(func(time.Duration) time.Duration { return charge })
		dir := os.Getenv("SHIP_DIR")
		pace, _ := time.ParseDuration(os.Getenv("SHIP_PACE"))
		for time.Now().Before(deadline) {
			churnWakes()
			time.Sleep(pace) // (a program's own pace, not a wait for the shim)
			if st := s.Stats(); st.ShipFiles > 0 && st.ShipBudgetWaits > 0 && binFiles(dir) >= 4 {
				break
			}
		}
		before := s.Stats()
		if err := s.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "Stop:", err)
		}
		b, _ := json.Marshal(shipStats{PID: os.Getpid(), Stats: s.Stats(), Before: before})
		fmt.Printf("SHIPSTATS %s\n", b)
	case "shipcap": // ClickHouse down: until the cap removed 3 unshipped files; os.Exit without Stop
		for time.Now().Before(deadline) && s.Stats().ShipDropped < 3 {
			churnWakes()
		}
		s.Flush(context.Background())
		done()
		os.Exit(0)
	case "shipidle": // ship what earlier processes left: until SHIP_WANT files are shipped, then Stop
		want, _ := strconv.Atoi(os.Getenv("SHIP_WANT"))
		for time.Now().Before(deadline) && s.Stats().ShipFiles < int64(want) {
			time.Sleep(10 * time.Millisecond)
		}
		s.Stop()
		done()
	}
}

// runShip runs a ship helper and returns its stats and stderr.
func runShip(t *testing.T, mode string, env ...string) (shipStats, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helper %s: %v\nstderr: %s", mode, err, stderr.String())
	}
	var st shipStats
	for line := range strings.SplitSeq(stdout.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "SHIPSTATS "); ok {
			if err := json.Unmarshal([]byte(rest), &st); err != nil {
				t.Fatal(err)
			}
		}
	}
	if st.PID == 0 {
		t.Fatalf("helper %s printed no stats\nstdout: %s\nstderr: %s", mode, stdout.String(), stderr.String())
	}
	return st, stderr.String()
}

// localFiles is what the records files in a directory hold, read with
// package format.
type localFiles struct {
	ids             map[string]string // file id (SHA-256) -> name
	records, wakes  int64
	pending, byFile map[string]int64
}

func readLocal(t *testing.T, dir string) localFiles {
	t.Helper()
	lf := localFiles{ids: map[string]string{}, byFile: map[string]int64{}}
	for _, fr := range readFiles(t, dir, true) {
		data, err := os.ReadFile(fr.name)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		id := hex.EncodeToString(sum[:])
		lf.ids[id] = filepath.Base(fr.name)
		lf.byFile[id] = int64(len(fr.recs))
		lf.records += int64(len(fr.recs))
		for _, r := range fr.recs {
			if r.Code == format.CodeWakeEvent {
				lf.wakes++
			}
		}
	}
	return lf
}

// remote is what ClickHouse holds of a service.
type remote struct {
	files     map[string]int64 // file id -> records
	rows      int              // rows of files (duplicates included)
	wakes     int64
	instances []string
}

func readRemote(t *testing.T, c *fleet.Client, service string) remote {
	t.Helper()
	ctx := context.Background()
	q := func(query string) [][]string {
		rows, err := c.Query(ctx, strings.ReplaceAll(query, "SVC", fleet.Quote(service)))
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	r := remote{files: map[string]int64{}}
	for _, row := range q("SELECT file_id, records FROM files WHERE service = SVC") {
		n, _ := strconv.ParseInt(row[1], 10, 64)
		r.files[row[0]] = n
		r.rows++
	}
	committed := "load_id IN (SELECT load_id FROM files WHERE service = SVC)"
	r.wakes, _ = strconv.ParseInt(q("SELECT count() FROM wakes WHERE service = SVC AND " + committed)[0][0], 10, 64)
	for _, row := range q("SELECT DISTINCT instance FROM files WHERE service = SVC ORDER BY instance") {
		r.instances = append(r.instances, row[0])
	}
	return r
}

// sameRecords checks that ClickHouse holds every local file once, with
// its records, and nothing else.
func sameRecords(t *testing.T, lf localFiles, r remote) {
	t.Helper()
	if r.rows != len(r.files) {
		t.Errorf("%d rows in files for %d distinct files: duplicates", r.rows, len(r.files))
	}
	for id, name := range lf.ids {
		n, ok := r.files[id]
		switch {
		case !ok:
			t.Errorf("%s (%s) not in ClickHouse", name, id[:12])
		case n != lf.byFile[id]:
			t.Errorf("%s: %d records in ClickHouse, %d in the file", name, n, lf.byFile[id])
		}
	}
	for id := range r.files {
		if _, ok := lf.ids[id]; !ok {
			t.Errorf("ClickHouse has a file %s not made by the program", id[:12])
		}
	}
	if r.wakes != lf.wakes {
		t.Errorf("%d wake rows in ClickHouse, %d WakeEvent records in the files", r.wakes, lf.wakes)
	}
}

// wakeshimFiles lists the wakeshim files left in dir.
func wakeshimFiles(dir string) []string {
	var out []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if regexp.MustCompile(`^.+-[0-9]+-[0-9]{6,}\.`).MatchString(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out
}

func hostInstance(t *testing.T, pid int) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return fmt.Sprintf("%s-%d", host, pid)
}

// TestShipEndToEnd: a shimmed program with ship= rotates small files;
// once it exits (after Stop), ClickHouse holds every file it wrote, each
// once, with as many records and wakes as the files, and the directory
// holds none of them.
func TestShipEndToEnd(t *testing.T) {
	srv := chserver.Start(t)
	url := srv.URL("wakeshim")
	dir, links := t.TempDir(), t.TempDir()
	st, stderr := runShip(t, "shipbusy", "SHIP_LINKS="+links, "SHIP_FOR=3s",
		"WAKESHIM=dir="+dir+",maxfile=64KiB,maxtotal=100MB,budget=off,stoptimeout=2m,ship="+url+",service=busy")
	if left := wakeshimFiles(dir); len(left) > 0 {
		t.Errorf("files left in the directory after Stop: %v\nstderr: %s", left, stderr)
	}
	lf := readLocal(t, links)
	if len(lf.ids) < 3 {
		t.Fatalf("only %d files: no rotation? stderr: %s", len(lf.ids), stderr)
	}
	c, err := fleet.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	r := readRemote(t, c, "busy")
	sameRecords(t, lf, r)
	if want := hostInstance(t, st.PID); !slices.Equal(r.instances, []string{want}) {
		t.Errorf("instances %v, want [%s]", r.instances, want)
	}
	if st.Stats.ShipFiles != int64(len(lf.ids)) || st.Stats.ShipRecords != lf.records || st.Stats.ShipDropped != 0 {
		t.Errorf("stats: %d files, %d records shipped, %d dropped; want %d, %d, 0", st.Stats.ShipFiles, st.Stats.ShipRecords,
			st.Stats.ShipDropped, len(lf.ids), lf.records)
	}
	t.Logf("%d files, %d records, %d wakes shipped in %v of loads (%.0f records/s), %v of it charged to the budget",
		len(lf.ids), lf.records, lf.wakes, st.Stats.ShipTime, float64(lf.records)/st.Stats.ShipTime.Seconds(), st.Stats.ShipCost)
	if st.Stats.ShipCost <= 0 || st.Stats.ShipCost > st.Stats.ShipTime {
		t.Errorf("charged %v for %v of loads: want a part of it", st.Stats.ShipCost, st.Stats.ShipTime)
	}
}

// startShip starts a ship helper; wait waits for it to end.
func startShip(t *testing.T, mode string, env ...string) (wait func() (shipStats, string)) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return func() (shipStats, string) {
		t.Helper()
		waited = true
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper %s: %v\nstderr: %s", mode, err, stderr.String())
		}
		var st shipStats
		for line := range strings.SplitSeq(stdout.String(), "\n") {
			if rest, ok := strings.CutPrefix(line, "SHIPSTATS "); ok {
				if err := json.Unmarshal([]byte(rest), &st); err != nil {
					t.Fatal(err)
				}
			}
		}
		return st, stderr.String()
	}
}

// waitShip waits for cond, at most 120s.
func waitShip(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(120 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func binFiles(dir string) int {
	m, _ := filepath.Glob(filepath.Join(dir, "*-*-*.bin"))
	return len(m)
}

func countLines(s, sub string) int {
	n := 0
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, sub) {
			n++
		}
	}
	return n
}

// TestShipOutage: ClickHouse stops while the program runs: the files
// stay in the directory; once it is back, everything ends up in it
// exactly once, nothing lost.
func TestShipOutage(t *testing.T) {
	srv := chserver.Start(t)
	url := srv.URL("wakeshim")
	c, err := fleet.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	c.Retries = 0
	shipped := func() int {
		rows, err := c.Query(context.Background(), "SELECT count() FROM files WHERE service = 'outage'")
		if err != nil || len(rows) == 0 {
			return 0
		}
		n, _ := strconv.Atoi(rows[0][0])
		return n
	}
	dir, links := t.TempDir(), t.TempDir()
	stop := filepath.Join(t.TempDir(), "stop")
	wait := startShip(t, "shipbusy", "SHIP_LINKS="+links, "SHIP_STOP="+stop, "SHIP_PACE=50ms",
		"WAKESHIM=dir="+dir+",maxfile=64KiB,maxtotal=100MB,budget=off,stoptimeout=2m,ship="+url+",service=outage")
	waitShip(t, "two files shipped", func() bool { return shipped() >= 2 })
	srv.Stop()
	before := binFiles(dir)
	// Files pile up while ClickHouse is out (one of them is the one being written).
	waitShip(t, "files kept in the outage", func() bool { return binFiles(dir) >= before+3 })
	kept := binFiles(dir)
	srv.Restart()
	last := time.Now()
	waitShip(t, "the shim to catch up", func() bool {
		if time.Since(last) > 5*time.Second {
			last = time.Now()
			t.Logf("%d files in the directory, %d in ClickHouse", binFiles(dir), shipped())
		}
		return binFiles(dir) <= 1
	})
	os.WriteFile(stop, nil, 0o644)
	st, stderr := wait()
	if left := wakeshimFiles(dir); len(left) > 0 {
		t.Errorf("files left after Stop: %v", left)
	}
	lf := readLocal(t, links)
	sameRecords(t, lf, readRemote(t, c, "outage"))
	if n := countLines(stderr, "failed"); n != 1 {
		t.Errorf("%d lines on the failure, want 1:\n%s", n, stderr)
	}
	if n := countLines(stderr, "again after"); n != 1 {
		t.Errorf("%d lines on the end of the outage, want 1:\n%s", n, stderr)
	}
	if st.Stats.ShipFailures == 0 || st.Stats.ShipDropped != 0 || st.Stats.ShipFiles != int64(len(lf.ids)) {
		t.Errorf("stats %+v: want failures, no drop, %d files", st.Stats, len(lf.ids))
	}
	t.Logf("%d files kept during the outage; %d files, %d records, %d wakes in ClickHouse, %d failed rounds", kept, len(lf.ids), lf.records, lf.wakes, st.Stats.ShipFailures)
}

// TestShipCapWhileDown: ClickHouse is down and maxtotal small: the cap
// removes the oldest unshipped files, counted, with one warning; the
// program ends in os.Exit, and the next process started with the same
// dir and ship= ships what is left, under the first one's instance.
func TestShipCapWhileDown(t *testing.T) {
	srv := chserver.Start(t)
	url := srv.URL("wakeshim")
	srv.Stop()
	dir := t.TempDir()
	env := "WAKESHIM=dir=" + dir + ",maxfile=16KiB,maxtotal=80KiB,budget=off,stoptimeout=2m,ship=" + url + ",service=capped"
	st, stderr := runShip(t, "shipcap", env)
	if st.Stats.ShipDropped < 3 || st.Stats.ShipFiles != 0 {
		t.Fatalf("stats %+v: want 3 or more dropped, none shipped\nstderr: %s", st.Stats, stderr)
	}
	if n := countLines(stderr, "removed unshipped"); n != 1 {
		t.Errorf("%d warnings of the cap, want 1:\n%s", n, stderr)
	}
	// What is left is the newest files: sequence numbers from k to the
	// last, k past the number dropped.
	var seqs []int
	prefix := fmt.Sprintf("shim.test-%d-", st.PID)
	for _, n := range wakeshimFiles(dir) {
		if rest, ok := strings.CutPrefix(n, prefix); ok && strings.HasSuffix(n, ".bin") {
			seq, _ := strconv.Atoi(strings.TrimSuffix(rest, ".bin"))
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	if len(seqs) == 0 || seqs[0] <= int(st.Stats.ShipDropped) || seqs[len(seqs)-1]-seqs[0] != len(seqs)-1 {
		t.Errorf("files left %v after %d dropped: want the newest, contiguous", seqs, st.Stats.ShipDropped)
	}
	lf := readLocal(t, dir)
	if len(lf.ids) != len(seqs) {
		t.Fatalf("%d files read, %d left", len(lf.ids), len(seqs))
	}

	srv.Restart()
	st2, stderr2 := runShip(t, "shipidle", env, "SHIP_WANT="+strconv.Itoa(len(seqs)))
	if st2.Stats.ShipFiles < int64(len(seqs)) {
		t.Fatalf("the next process shipped %d files, want %d\nstderr: %s", st2.Stats.ShipFiles, len(seqs), stderr2)
	}
	for _, n := range wakeshimFiles(dir) {
		if strings.HasPrefix(n, prefix) {
			t.Errorf("%s left after the next process", n)
		}
	}
	c, err := fleet.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	inst := hostInstance(t, st.PID)
	rows, err := c.Query(context.Background(), "SELECT file_id, records FROM files WHERE service = 'capped' AND instance = "+fleet.Quote(inst))
	if err != nil {
		t.Fatal(err)
	}
	r := remote{files: map[string]int64{}}
	for _, row := range rows {
		n, _ := strconv.ParseInt(row[1], 10, 64)
		r.files[row[0]] = n
		r.rows++
	}
	rw, err := c.Query(context.Background(), "SELECT count() FROM wakes WHERE service = 'capped' AND instance = "+fleet.Quote(inst)+
		" AND load_id IN (SELECT load_id FROM files WHERE service = 'capped')")
	if err != nil {
		t.Fatal(err)
	}
	r.wakes, _ = strconv.ParseInt(rw[0][0], 10, 64)
	sameRecords(t, lf, r)
	t.Logf("%d files dropped unshipped, %d left and shipped by the next process (%d records)", st.Stats.ShipDropped, len(seqs), lf.records)
}

// TestShipStopInOutage: with nothing listening at the URL, the program
// runs as usual, Stop returns at once (it does not wait for ClickHouse),
// and every file stays in the directory, complete, for the next process.
// No server needed: a port just closed refuses.
func TestShipStopInOutage(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("http://%s/?database=wakeshim", l.Addr())
	l.Close()
	dir := t.TempDir()
	st, stderr := runShip(t, "shipbusy", "SHIP_FOR=2s", "SHIP_PACE=20ms",
		"WAKESHIM=dir="+dir+",maxfile=64KiB,maxtotal=100MB,budget=off,stoptimeout=30s,ship="+url+",service=down")
	if st.StopMS > 5000 {
		t.Errorf("Stop took %.0fms with ClickHouse out, stoptimeout 30s: want it not to wait", st.StopMS)
	}
	if n := countLines(stderr, "failed"); n != 1 {
		t.Errorf("%d failure lines, want 1:\n%s", n, stderr)
	}
	if st.Stats.ShipFiles != 0 || st.Stats.ShipFailures == 0 || !st.Stats.ShipOutage {
		t.Errorf("stats %+v: want nothing shipped, failures, in outage", st.Stats)
	}
	frs := readFiles(t, dir, false)
	// Stats.Files counts the side files too: the goroutineleak profile
	// taken at Stop under a Go that has it, the stop-the-world pauses.
	sides, _ := filepath.Glob(filepath.Join(dir, "*.goroutineleak.txt"))
	pauses, _ := filepath.Glob(filepath.Join(dir, "*.pauses.txt"))
	sides = append(sides, pauses...)
	if written := st.Stats.Files - len(sides); len(frs) != written || len(frs) < 2 {
		t.Errorf("%d records files in the directory, %d written (and %d side files): want every one kept", len(frs), written, len(sides))
	}
	t.Logf("Stop took %.0fms; %d files kept", st.StopMS, len(frs))
}

// TestShipBudget: the loads are charged to the CPU budget (here an
// injected hour each; the budget 50%, so that the conversion of a paced
// program, slow under the race detector on a shared machine, does not
// spend it first): after the first, the account is in debt and the
// shipper ships nothing more while the program runs (its rounds held,
// the files waiting on disk); Stop ships them all, nothing lost, as it
// converts the last window whatever the budget.
func TestShipBudget(t *testing.T) {
	srv := chserver.Start(t)
	url := srv.URL("wakeshim")
	dir, links := t.TempDir(), t.TempDir()
	st, stderr := runShip(t, "shipbudget", "SHIP_LINKS="+links, "SHIP_CHARGE=1h", "SHIP_DIR="+dir, "SHIP_PACE=5ms",
		"WAKESHIM=dir="+dir+",maxfile=64KiB,maxtotal=100MB,budget=50%,stoptimeout=2m,ship="+url+",service=budget")
	b := st.Before
	t.Logf("before Stop: %d files shipped, %d rounds held, %v charged; after: %d shipped, %v charged",
		b.ShipFiles, b.ShipBudgetWaits, b.ShipCost, st.Stats.ShipFiles, st.Stats.ShipCost)
	if b.ShipFiles == 0 || b.ShipBudgetWaits == 0 {
		t.Fatalf("before Stop: %d files shipped, %d rounds held; want both > 0\nstderr: %s", b.ShipFiles, b.ShipBudgetWaits, stderr)
	}
	// In debt after the first load: it was the only one (its files
	// charged one hour), the later files waited.
	if b.ShipCost != time.Hour {
		t.Errorf("charged %v before Stop, want one load's 1h", b.ShipCost)
	}
	if left := wakeshimFiles(dir); len(left) > 0 {
		t.Errorf("files left in the directory after Stop: %v\nstderr: %s", left, stderr)
	}
	lf := readLocal(t, links)
	if int64(len(lf.ids)) <= b.ShipFiles {
		t.Errorf("%d files in all, %d shipped before Stop: none waited", len(lf.ids), b.ShipFiles)
	}
	c, err := fleet.NewClient(url)
	if err != nil {
		t.Fatal(err)
	}
	sameRecords(t, lf, readRemote(t, c, "budget"))
	if st.Stats.ShipFiles != int64(len(lf.ids)) || st.Stats.ShipDropped != 0 || st.Stats.ShipCost <= b.ShipCost {
		t.Errorf("after Stop: %d files shipped (want %d), %d dropped, %v charged", st.Stats.ShipFiles, len(lf.ids),
			st.Stats.ShipDropped, st.Stats.ShipCost)
	}
}

// TestShipLeakVerdicts: the shim ships its goroutineleak profiles'
// proof with the verdicts. A shimmed program leaks a goroutine and exits
// without Stop (leakprofile=1s); the next process with the same dir and
// ship= ships its files: `wakeshim report -from`'s verdicts have the
// goroutine leaked, proven by the profile beside its records (under a Go
// with the profile), on its instance.
func TestShipLeakVerdicts(t *testing.T) {
	srv := chserver.Start(t)
	url := srv.URL("wakeshim")
	dir := t.TempDir()
	f, stderr := runHelper(t, "leak", "WAKESHIM=dir="+dir+",leakprofile=1s,sample=200ms,interval=100ms,budget=off")
	require.NotZero(t, f.Stuck, "stderr: %s", stderr)
	var bins, profs int
	pid := 0
	for _, n := range wakeshimFiles(dir) {
		if m := regexp.MustCompile(`^shim\.test-([0-9]+)-[0-9]+\.bin$`).FindStringSubmatch(n); m != nil {
			bins++
			pid, _ = strconv.Atoi(m[1])
		}
		if strings.HasSuffix(n, ".goroutineleak.txt") {
			profs++
		}
	}
	require.Positive(t, bins)
	st, stderr := runShip(t, "shipidle", "WAKESHIM=dir="+dir+",budget=off,ship="+url+",service=leaky", "SHIP_WANT="+strconv.Itoa(bins))
	require.GreaterOrEqual(t, st.Stats.ShipFiles, int64(bins), "stderr: %s", stderr)

	c, err := fleet.NewClient(url)
	require.NoError(t, err)
	inst := hostInstance(t, pid)
	rep, _, err := fleet.Report(context.Background(), c, fleet.ReportOptions{Scope: fleet.Scope{Service: "leaky", Instance: inst}})
	require.NoError(t, err)
	var stuck *analyze.Verdict
	for i, v := range rep.Verdicts {
		if int64(v.TaskID) == f.Stuck && v.Goroutines == 1 {
			stuck = &rep.Verdicts[i]
		}
	}
	require.NotNil(t, stuck, "g%d not among the verdicts %+v", f.Stuck, rep.Verdicts)
	t.Logf("g%d: %s %s on %v: %v (%d profile(s) beside %d file(s))", f.Stuck, stuck.Verdict, stuck.Name, stuck.Instances, stuck.Evidence, profs, bins)
	assert.Equal(t, []analyze.InstanceCount{{Instance: inst, Goroutines: 1}}, stuck.Instances)
	if pprof.Lookup("goroutineleak") == nil {
		assert.NotEqual(t, analyze.VerdictLeaked, stuck.Verdict)
		assert.Contains(t, rep.VerdictSummary.Profile.Note, "no goroutineleak profile was shipped with 1 of the 1")
		return
	}
	require.Positive(t, profs)
	assert.Equal(t, analyze.VerdictLeaked, stuck.Verdict, "%+v", stuck)
	require.NotNil(t, stuck.Proof)
	assert.Contains(t, stuck.Proof.File, ".goroutineleak.txt")
	assert.Empty(t, rep.VerdictSummary.Profile.Note)
	assert.GreaterOrEqual(t, rep.VerdictSummary.Leaked, 1)
}
