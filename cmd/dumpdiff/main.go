// Command dumpdiff compares wakeshim records with a goroutine dump of the
// same time. It is `wakeshim dumpdiff` under its own name; see
// dumpdiff (the comparison) and cmd/wakeshim/dumpdiffcmd (the command) and docs/dumpdiff.md.
//
//	dumpdiff [flags] RECORDS... DUMP
package main

import (
	"os"

	"github.com/wakeshim/wakeshim/cmd/wakeshim/dumpdiffcmd"
)

func main() {
	os.Exit(dumpdiffcmd.Run("dumpdiff", os.Args[1:], os.Stdout, os.Stderr))
}
