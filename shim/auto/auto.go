// Package auto starts the shim from the WAKESHIM environment variable. Add
//
//	import _ "github.com/wakeshim/wakeshim/shim/auto"
//
// to a program; it does nothing until the program runs with WAKESHIM set,
// e.g. WAKESHIM=dir=/var/tmp/wakeshim,threshold=5ms (see shim.ParseEnv for
// the keys). Unset or empty, its init only reads the variable: no
// goroutine, no tracing, no allocation. An invalid value is reported in one
// line on stderr naming the key, and the program runs on without the shim.
package auto

import (
	"fmt"
	"os"

	"github.com/wakeshim/wakeshim/shim"
)

// EnvVar is the environment variable auto reads.
const EnvVar = "WAKESHIM"

var session *shim.Session

func init() { fromEnv() }

// fromEnv starts the session if WAKESHIM is set; unset or empty, it does
// nothing but the lookup.
func fromEnv() {
	v, ok := os.LookupEnv(EnvVar)
	if !ok || v == "" {
		return
	}
	start(v)
}

func start(v string) {
	cfg, err := shim.ParseEnv(v)
	if err == nil {
		session, err = shim.Start(cfg)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "wakeshim: off: %v\n", err)
	}
}

// Session returns the session started from WAKESHIM, or nil. A program
// that wants the last records on its way out calls Session().Stop() (nil
// safe through shim.Session's Stop, which then returns an error).
func Session() *shim.Session { return session }
