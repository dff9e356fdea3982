// Package cliflags parses the flags of wakeshim's subcommands the same way
// in each: -h prints the usage text and the flags and exits 0, a bad flag
// prints them and exits 2.
package cliflags

import (
	"errors"
	"flag"
	"fmt"
)

// Parse makes fs print usage, then its flags' defaults, when asked for help
// or given a bad flag, and parses args. When it returns false the command
// is to exit with code: 0 after -h, 2 after a bad flag.
func Parse(fs *flag.FlagSet, usage string, args []string) (code int, ok bool) {
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}
