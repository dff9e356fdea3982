// Command wakeshim is the one installed command of wakeshim:
//
//	go install github.com/wakeshim/wakeshim/cmd/wakeshim@latest
//
//	wakeshim convert [flags] TRACE          execution trace -> v9 records (and v9 <-> JSONL)
//	wakeshim report [flags] INPUT...        where goroutines wait, who wakes whom, latency, Ps, findings
//	wakeshim dumpdiff [flags] RECORDS... DUMP  records against a goroutine dump
//	wakeshim attach [flags] URL             records from a program serving net/http/pprof
//	wakeshim ship -to URL -service NAME INPUT...  records into ClickHouse, for a fleet
//	wakeshim help [COMMAND]
//
// Each subcommand is a package under internal/ with a Run function, one
// entry in the commands table.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/wakeshim/wakeshim/cmd/wakeshim/attachcmd"
	"github.com/wakeshim/wakeshim/cmd/wakeshim/convertcmd"
	"github.com/wakeshim/wakeshim/cmd/wakeshim/dumpdiffcmd"
	"github.com/wakeshim/wakeshim/cmd/wakeshim/reportcmd"
	"github.com/wakeshim/wakeshim/cmd/wakeshim/shipcmd"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	// run runs it with the arguments after its name and returns the exit
	// status (0 done, 1 failure, 2 usage error; dumpdiff 3: -fail-on).
	run   func(name string, args []string, stdin io.Reader, stdout, stderr io.Writer) int
	usage func(name string) string
}

var commands = []command{
	{"convert", "convert a Go execution trace to v9 records (and v9 <-> JSONL)",
		func(n string, a []string, in io.Reader, _, errw io.Writer) int { return convertcmd.Run(n, a, in, errw) },
		convertcmd.Usage},
	{"report", "where goroutines wait, who wakes whom, wake-to-run latency, Ps, findings",
		func(n string, a []string, _ io.Reader, out, errw io.Writer) int {
			return reportcmd.Run(n, a, out, errw)
		},
		reportcmd.Usage},
	{"dumpdiff", "compare records with a goroutine dump of the same time",
		func(n string, a []string, _ io.Reader, out, errw io.Writer) int {
			return dumpdiffcmd.Run(n, a, out, errw)
		},
		dumpdiffcmd.Usage},
	{"attach", "records from a running program that serves net/http/pprof, no rebuild",
		func(n string, a []string, _ io.Reader, out, errw io.Writer) int {
			return attachcmd.Run(n, a, out, errw)
		},
		attachcmd.Usage},
	{"ship", "load records into ClickHouse, for reports over a fleet of instances",
		func(n string, a []string, _ io.Reader, out, errw io.Writer) int {
			return shipcmd.Run(n, a, out, errw)
		},
		shipcmd.Usage},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: wakeshim COMMAND [flags] ARGS...")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "wakeshim answers who woke a goroutine, and where goroutines are stuck and for how long.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "  help      help on a command: wakeshim help COMMAND")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "wakeshim COMMAND -h also gives a command's usage and flags.")
}

func find(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) == 1 || args[0] != "help" {
			usage(stdout)
			return 0
		}
		c := find(args[1])
		if c == nil {
			fmt.Fprintf(stderr, "wakeshim help: unknown command %q (commands: %s)\n", args[1], names())
			return 2
		}
		// The command's own -h prints its usage and flags.
		c.run("wakeshim "+c.name, []string{"-h"}, stdin, stdout, stdout)
		return 0
	}
	c := find(args[0])
	if c == nil {
		fmt.Fprintf(stderr, "wakeshim: unknown command %q (commands: %s; wakeshim help)\n", args[0], names())
		return 2
	}
	return c.run("wakeshim "+c.name, args[1:], stdin, stdout, stderr)
}

func names() string {
	var s []string
	for _, c := range commands {
		s = append(s, c.name)
	}
	return strings.Join(s, ", ")
}
