//go:build generate

// This file exists only for go generate, which sets the "generate" build tag;
// the build constraint keeps it (and so the repository root, which has no
// other Go files) out of go build, go vet and go test.
//
// Running
//
//	go generate ./...
//
// from the repository root regenerates the committed execution traces, fact
// files and goroutine dumps in testdata/traces by running the programs in
// testdata/progs (see testdata/README.md). The large benchmark trace
// testdata/traces/busy.trace is not committed and not generated here; make
// it with
//
//	go run ./testdata/progs/busy -o testdata/traces -size 40MB
package wakeshim

//go:generate go run -trimpath ./testdata/progs/pingpong -o testdata/traces
//go:generate go run -trimpath ./testdata/progs/mutex -o testdata/traces
//go:generate go run -trimpath ./testdata/progs/sleep -o testdata/traces
//go:generate go run -trimpath ./testdata/progs/preblocked -o testdata/traces
//go:generate go run -trimpath ./testdata/progs/flightrec -o testdata/traces

// The leak reproducers' traces and goroutineleak profiles
// (testdata/leaks/out) are made with Go 1.27, where the profile is on by
// default: GOTOOLCHAIN=go1.27.3 go generate ./..., or make leaks.
//go:generate go run -trimpath ./testdata/leaks -o testdata/leaks/out
//go:generate go run -trimpath ./testdata/progs/chains -o testdata/traces
