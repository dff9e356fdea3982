// Command convert turns a Go execution trace into wakeshim's v9 records,
// binary and JSONL, and renders v9 files as JSONL (and JSONL back as v9).
// It is `wakeshim convert` under its own name (kept so that scripts using
// it go on working); see internal/convertcmd.
//
//	convert [flags] TRACE
package main

import (
	"os"

	"github.com/wakeshim/wakeshim/cmd/wakeshim/convertcmd"
)

func main() {
	os.Exit(convertcmd.Run("convert", os.Args[1:], os.Stdin, os.Stderr))
}
