# wakeshim: the targets the README and CI use.
GO ?= go
BUSY := testdata/traces/busy.trace

.PHONY: test demo bench fuzz generate check

# vet + race tests: the README's (and CI's) test command.
test:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) test -race ./...

# Convert a bundled trace (a goroutine blocked on a mutex held for 30ms) and show
# the summary and a few records.
demo:
	@mkdir -p out
	$(GO) run ./cmd/convert -o out/mutex.bin -jsonl out/mutex.jsonl testdata/traces/mutex.trace
	@grep -E "FrameDef|TaskPending" out/mutex.jsonl

$(BUSY):
	$(GO) run ./testdata/progs/busy -o testdata/traces -size 40MB

# Converter and wakeshim report vs a bare x/exp/trace read of a large busy
# trace (time and peak memory, ratios in one run, report/convert too), then
# the shim's overhead on a loopback HTTP server (see docs/shim.md), then the
# micro-benchmarks.
bench: $(BUSY)
	$(GO) run ./internal/convbench -n 3 $(BUSY)
	$(GO) run ./shim/internal/httpbench -rounds 5 -phase 10s -modes off,on
	$(GO) test -run '^$$' -bench . -benchmem ./format ./convert ./analyze

# A short run of every fuzzer (FUZZTIME each).
FUZZTIME ?= 15s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "$$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# Regenerate the committed testdata traces, facts and dumps.
generate:
	$(GO) generate ./...
