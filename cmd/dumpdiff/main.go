// Command dumpdiff compares wakeshim records with a goroutine dump of the
// same time. It is `wakeshim dumpdiff` under its own name; see
// internal/dumpdiffcli and docs/dumpdiff.md.
//
//	dumpdiff [flags] RECORDS... DUMP
package main

import (
	"os"

	"github.com/wakeshim/wakeshim/internal/dumpdiffcli"
)

func main() {
	os.Exit(dumpdiffcli.Run("dumpdiff", os.Args[1:], os.Stdout, os.Stderr))
}
