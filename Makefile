# wakeshim: the targets the README and CI use.
GO ?= go
BUSY := testdata/traces/busy.trace

.PHONY: test demo bench fuzz generate check realserver idlecost pgo leaks corpus shapes

# vet + race tests: the README's (and CI's) test command.
test:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) test -race -timeout 30m ./...

# The main job on a bundled trace: wakeshim report on the trace and the
# goroutineleak profile of testdata/leaks' reproducer of etcd's bug 7443
# (a watcher's send loop blocked forever on a channel nobody reads), made
# with Go 1.27: a proven leak among goroutines that wake each other.
demo:
	$(GO) run ./cmd/wakeshim report testdata/leaks/out/etcd7443.trace testdata/leaks/out/etcd7443.leak.txt

CORPUS_RUNS ?= 3

$(BUSY):
	$(GO) run ./testdata/progs/busy -o testdata/traces -size 40MB

# The benchmark corpus (issue 20, docs/decoder.md): traces of different
# shapes, 5-60 MB each, made here and not committed (testdata/corpus is
# git-ignored). Two are real programs' traces: Go's own net/http and
# runtime tests run with -trace; the others are made by
# testdata/progs/corpus, one shape each (httpload: a loopback net/http
# server's own /debug/pprof/trace under load). They must be made by the Go
# whose trace format the decoder reads (1.26): a newer Go's traces go to
# x/exp whole, which convbench's table would show as convert ~2x parse.
CORPUS := testdata/corpus
CORPUS_SHAPES := alloc chanring fileio stacks flightrec idle httpload
CORPUS_TRACES := $(CORPUS)/nethttp.trace $(CORPUS)/runtime.trace $(foreach s,$(CORPUS_SHAPES),$(CORPUS)/$(s).trace)
CORPUS_FLAGS_alloc := -size 30MB
CORPUS_FLAGS_chanring := -size 25MB
CORPUS_FLAGS_fileio := -size 25MB
CORPUS_FLAGS_stacks := -d 4s
CORPUS_FLAGS_flightrec := -d 500ms
CORPUS_FLAGS_idle := -d 40s
CORPUS_FLAGS_httpload := -d 3s
corpus: $(CORPUS_TRACES)
$(CORPUS)/nethttp.trace:
	@mkdir -p $(CORPUS)
	$(GO) test -short -count=1 -trace=$(CURDIR)/$@ net/http
$(CORPUS)/runtime.trace:
	@mkdir -p $(CORPUS)
	$(GO) test -short -count=1 -trace=$(CURDIR)/$@ -run 'TestGC|TestGc|TestChan|TestSelect|TestStack|TestMap|TestTimer|TestSema|TestGoroutine' runtime
$(CORPUS)/%.trace:
	$(GO) run ./testdata/progs/corpus -shape $* -o $(CORPUS) $(CORPUS_FLAGS_$*)

# Small traces of the same shapes (a few hundred KB each), committed in
# testdata/shapes: make test's differential tests run on them.
SHAPES := testdata/shapes
shapes:
	@mkdir -p $(SHAPES)
	$(GO) test -short -count=1 -trace=$(CURDIR)/$(SHAPES)/nethttp.trace -run 'TestServeFile|TestTransportReuse' net/http
	$(GO) test -short -count=1 -trace=$(CURDIR)/$(SHAPES)/runtime.trace -run TestSelect runtime
	$(GO) run ./testdata/progs/corpus -o $(SHAPES) -shape alloc -d 60ms
	$(GO) run ./testdata/progs/corpus -o $(SHAPES) -shape chanring -size 400KB -goroutines 400
	$(GO) run ./testdata/progs/corpus -o $(SHAPES) -shape fileio -size 400KB
	$(GO) run ./testdata/progs/corpus -o $(SHAPES) -shape stacks -d 30ms -paths 300
	$(GO) run ./testdata/progs/corpus -o $(SHAPES) -shape flightrec -d 30ms
	$(GO) run ./testdata/progs/corpus -o $(SHAPES) -shape idle -d 3s -goroutines 200
	$(GO) run ./testdata/progs/corpus -o $(SHAPES) -shape httpload -d 100ms

# Converter and wakeshim report vs a bare x/exp/trace read of a large busy
# trace (time and peak memory, ratios in one run, report/convert too), the
# same on every trace of the corpus (one line each, the minimum of
# CORPUS_RUNS interleaved runs, the worst trace named, issue 20's goals
# checked), the two parsers' differential tests on the busy trace and on
# every corpus trace (make test, under -race, leaves them out: too slow
# there; it has testdata/shapes), then
# the shim's overhead on a loopback HTTP server (see docs/shim.md) and
# wakeshim attach's cost on its target on the same load (docs/attach.md),
# then the micro-benchmarks (the decoder's and the converter's built with
# the commands' profile, default.pgo, as the commands are).
bench: $(BUSY) corpus
	$(GO) run ./cmd/convbench -n 3 $(BUSY)
	$(GO) run ./cmd/convbench -n $(CORPUS_RUNS) $(CORPUS_TRACES)
	WAKESHIM_CORPUS=$(CURDIR)/$(CORPUS) $(GO) test -timeout 60m -run 'TestSameEvents|TestDifferential$$' ./tracewire ./convert
	$(GO) test -pgo=$(CURDIR)/cmd/wakeshim/default.pgo -run '^$$' -bench Decode -benchtime 3x ./tracewire
	$(GO) test -pgo=$(CURDIR)/cmd/wakeshim/default.pgo -run '^$$' -bench Convert -benchtime 3x ./convert
	$(GO) run ./shim/internal/httpbench -rounds 5 -phase 10s -modes off,on
	$(GO) run ./attach/internal/attachbench -rounds 3 -phase 10s
	$(GO) test -run '^$$' -bench . -benchmem ./format ./analyze
	$(GO) test -run '^$$' -bench . -benchtime 3x -timeout 30m ./fleet

# A short run of every fuzzer (FUZZTIME each), the differential ones
# (tracewire, convert: the fast decoder against x/exp)
# included. Minimizing a new input of a trace-sized corpus takes the
# default 60s: FUZZMINIMIZE bounds it, or a short run only minimizes.
FUZZTIME ?= 15s
FUZZMINIMIZE ?= 3s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "$$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg || exit 1; \
	  done; \
	done

# Profile-guided optimization (docs/decoder.md): regenerate default.pgo, the
# CPU profile that go build and go install use for the commands' main
# packages (and convbench, which measures what they run). It is made from
# conversions and reports of a busy trace of its own (not make bench's:
# the benchmark is not its training data) and of the real server's trace.
PGO_MAINS := cmd/wakeshim cmd/convert cmd/convbench
pgo:
	@d=$$(mktemp -d) && trap 'rm -rf $$d' EXIT && \
	$(GO) build -pgo=off -o $$d/convbench ./cmd/convbench && \
	$(GO) run ./testdata/progs/busy -o $$d -size 12MB >/dev/null && \
	for m in convert report convert+jsonl; do \
	  echo "profiling $$m" && \
	  $$d/convbench -mode $$m -repeat 8 -cpuprofile $$d/busy-$$m.pprof $$d/busy.trace && \
	  $$d/convbench -mode $$m -repeat 100 -cpuprofile $$d/nats-$$m.pprof testdata/realtraces/nats-server.trace || exit 1; \
	done && \
	$(GO) tool pprof -proto $$d/*.pprof > $$d/default.pgo && \
	for p in $(PGO_MAINS); do cp $$d/default.pgo $$p/default.pgo; done && \
	ls -l $$d/default.pgo

# Regenerate the committed testdata traces, facts and dumps.
generate:
	$(GO) generate ./...

# The shim on a real server (not part of make test: it needs the module
# proxy). Builds nats-server with shim/auto, holds a client connection
# silent, ends the server with SIGTERM (it calls os.Exit) and checks the
# shim's files: the silent connection's reader reported with >= 75% of its
# age, every PollStart's spawn location defined in its own file; then the
# overhead on the same load. See docs/shim.md. REALSERVER_FLAGS go to the
# driver (e.g. -keep, -wakeshim budget=off, -rounds 0); prints a SKIP line
# and succeeds when the module proxy cannot be reached. -mod=mod: the
# driver's go.sum follows the main module's requirements if they change.
REALSERVER_FLAGS ?=
realserver: export GOFLAGS += -mod=mod
realserver:
	@cd testdata/realserver && if ! out=$$($(GO) mod download 2>&1); then \
	  case "$$out" in *"dial tcp"*|*"no such host"*|*"connection refused"*|*"i/o timeout"*|*"network is unreachable"*|*"TLS handshake"*|*"proxyconnect"*) \
	    echo "SKIP: realserver: module proxy unreachable: $$out"; exit 0;; \
	  *) echo "$$out"; exit 1;; esac; \
	fi && \
	echo "go vet, go test (testdata/realserver)" && $(GO) vet . && $(GO) test -race -count=1 . && \
	$(GO) run . -repo $(CURDIR) $(REALSERVER_FLAGS)

# What the shim writes for idle goroutines: IDLE_N parked goroutines for
# IDLE_D, records/s and bytes/s by record type (whole run and steady state).
# IDLE_WAKESHIM adds WAKESHIM options after dir=.
IDLE_N ?= 10000
IDLE_D ?= 30s
IDLE_WAKESHIM ?=
comma := ,
idlecost:
	@d=$$(mktemp -d) && trap 'rm -rf "$$d"' EXIT && \
	  WAKESHIM="dir=$$d$(if $(IDLE_WAKESHIM),$(comma)$(IDLE_WAKESHIM))" $(GO) run ./testdata/progs/idle -o "$$d" -n $(IDLE_N) -d $(IDLE_D)

# The leak reproducers (testdata/leaks): their execution traces and
# goroutineleak profiles, regenerated with Go 1.27 (the profile is on by
# default there; Go 1.26 has it only with GOEXPERIMENT=goroutineleakprofile).
LEAKS_GO ?= go1.27.3
leaks:
	rm -rf testdata/leaks/out
	GOTOOLCHAIN=$(LEAKS_GO) $(GO) run -trimpath ./testdata/leaks -o testdata/leaks/out
