package auto_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// maxInitMallocs is how many more heap allocations than a program without
// it a program importing shim/auto may make before main with WAKESHIM
// unset. What remains is package-level initialisation of dependencies the
// shim cannot make lazy (golang.org/x/exp/trace's tables, compress/flate,
// unicode...) and the environment copy of the lookup itself: about 135 at
// the time of writing; github.com/google/pprof/profile alone (linked
// through package dump before it moved to dump/pprofdump) made some 1,170,
// and format's JSONL tables 99 before they were built on first use. Package
// net, for the metrics listener (metrics=ADDR), added some 65 (net, net/netip
// and x/net's dnsmessage: about 3KB): 230 in all when it came; net/http and
// Prometheus' client library, which the listener does without, would add
// some 230 and 1,800.
//
// ship= (the shim's own shipping to ClickHouse, package fleet) links
// net/http after all, and with it crypto/tls, x509 and the FIPS module:
// some 200 more over a bare program. Over a program that imports net/http
// already (the servers the shim is for), the import still costs at most
// maxInitMallocsOverHTTP.
const (
	maxInitMallocs         = 450
	maxInitMallocsOverHTTP = 200
)

// initProg prints the heap allocations made before main.
const initProg = `package main

import (
	"fmt"
	"runtime"
%s)

func main() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fmt.Println(m.Mallocs, m.TotalAlloc)
}
`

// TestInitAllocs builds a tiny program twice, with and without
//
//	import _ "github.com/wakeshim/wakeshim/shim/auto"
//
// runs both with WAKESHIM unset, and checks that the import adds at most
// maxInitMallocs heap allocations before main: off, the shim costs the
// environment lookup, not the initialisation of heavy dependencies.
func TestInitAllocs(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	rootMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go [0-9.]+$`).Find(rootMod)
	if goLine == nil {
		t.Fatal("no go directive in go.mod")
	}
	goSum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return k == "WAKESHIM" || k == "GOFLAGS" || k == "GOWORK" || k == "GODEBUG"
	})
	buildEnv := append(slices.Clip(env), "GOFLAGS=-mod=mod", "GOWORK=off")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type result struct {
		bin string
		err error
	}
	build := func(name, imports string) result {
		dir := filepath.Join(t.TempDir(), name)
		mod := fmt.Sprintf("module example.com/%s\n\n%s\n\nrequire github.com/wakeshim/wakeshim v0.0.0\n\nreplace github.com/wakeshim/wakeshim => %s\n", name, goLine, root)
		for file, data := range map[string][]byte{
			"go.mod":  []byte(mod),
			"go.sum":  goSum,
			"main.go": fmt.Appendf(nil, initProg, imports),
		} {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return result{err: err}
			}
			if err := os.WriteFile(filepath.Join(dir, file), data, 0o644); err != nil {
				return result{err: err}
			}
		}
		bin := filepath.Join(dir, "prog")
		cmd := exec.CommandContext(ctx, goCmd, "build", "-o", bin, ".")
		cmd.Dir = dir
		cmd.Env = buildEnv
		if out, err := cmd.CombinedOutput(); err != nil {
			return result{err: fmt.Errorf("go build %s: %v\n%s", name, err, out)}
		}
		return result{bin: bin}
	}
	// The two builds in parallel: they share the build cache.
	withC, httpC, withHTTPC := make(chan result, 1), make(chan result, 1), make(chan result, 1)
	go func() { withC <- build("with", "\n\t_ \"github.com/wakeshim/wakeshim/shim/auto\"\n") }()
	go func() { httpC <- build("http", "\n\t_ \"net/http\"\n") }()
	go func() {
		withHTTPC <- build("withhttp", "\n\t_ \"net/http\"\n\t_ \"github.com/wakeshim/wakeshim/shim/auto\"\n")
	}()
	without := build("without", "")
	with, httpOnly, withHTTP := <-withC, <-httpC, <-withHTTPC
	for _, r := range []result{with, without, httpOnly, withHTTP} {
		if r.err != nil {
			t.Fatal(r.err)
		}
	}

	run := func(bin string, extraEnv ...string) (mallocs, bytes uint64, stderr string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin)
		cmd.Env = append(slices.Clip(env), extraEnv...)
		var errBuf strings.Builder
		cmd.Stderr = &errBuf
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", bin, err, errBuf.String())
		}
		f := strings.Fields(string(out))
		if len(f) != 2 {
			t.Fatalf("%s: output %q", bin, out)
		}
		mallocs, err1 := strconv.ParseUint(f[0], 10, 64)
		bytes, err2 := strconv.ParseUint(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: output %q", bin, out)
		}
		return mallocs, bytes, errBuf.String()
	}
	wm, wb, _ := run(with.bin)
	om, ob, _ := run(without.bin)
	t.Logf("before main, WAKESHIM unset: %d mallocs (%d bytes) with shim/auto, %d (%d bytes) without: +%d mallocs",
		wm, wb, om, ob, int64(wm)-int64(om))
	if wm > om+maxInitMallocs {
		_, _, trace := run(with.bin, "GODEBUG=inittrace=1")
		t.Errorf("importing shim/auto costs %d mallocs before main, want at most %d; the package inits that allocate:\n%s",
			wm-om, maxInitMallocs, allocatingInits(trace))
	}
	whm, _, _ := run(withHTTP.bin)
	hm, _, _ := run(httpOnly.bin)
	t.Logf("over a program importing net/http: %d mallocs with shim/auto, %d without: +%d", whm, hm, int64(whm)-int64(hm))
	if whm > hm+maxInitMallocsOverHTTP {
		_, _, trace := run(withHTTP.bin, "GODEBUG=inittrace=1")
		t.Errorf("importing shim/auto in a program with net/http costs %d mallocs before main, want at most %d; the package inits that allocate:\n%s",
			whm-hm, maxInitMallocsOverHTTP, allocatingInits(trace))
	}
}

// allocatingInits returns the lines of a GODEBUG=inittrace=1 trace of the
// package inits that allocate.
func allocatingInits(trace string) string {
	var b bytes.Buffer
	sc := bufio.NewScanner(strings.NewReader(trace))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "init ") && !strings.HasSuffix(line, " 0 allocs") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
