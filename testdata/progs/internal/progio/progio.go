// Package progio is the plumbing the trace generator programs under
// testdata/progs share: the -o flag naming the output directory, the
// output files, and the facts file each program writes about itself.
// Errors end the program: these are generators run by go generate.
package progio

import (
	"encoding/json"
	"flag"
	"log"
	"os"
	"path/filepath"
)

var dir = flag.String("o", ".", "output directory")

// Init sets the log prefix to the program's name, parses the command line
// (a program defines its own flags before calling it) and makes the output
// directory.
func Init(name string) {
	log.SetFlags(0)
	log.SetPrefix(name + ": ")
	flag.Parse()
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
}

// Dir returns the output directory.
func Dir() string { return *dir }

// Path returns the path of file in the output directory.
func Path(file string) string { return filepath.Join(*dir, file) }

// Create creates file in the output directory.
func Create(file string) *os.File {
	f, err := os.Create(Path(file))
	if err != nil {
		log.Fatal(err)
	}
	return f
}

// WriteFacts writes v, indented JSON, to file in the output directory.
func WriteFacts(file string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(Path(file), append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
}
