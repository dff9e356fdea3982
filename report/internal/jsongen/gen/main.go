// Command gen writes package report's json_gen.go, the streaming
// encoder of analyze.Report, and jsongen_types_test.go, that of the
// types of package gentypes for report's tests (go generate ./report).
package main

import (
	"flag"
	"fmt"
	"os"
	"reflect"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/report/internal/jsongen"
	"github.com/wakeshim/wakeshim/report/internal/jsongen/gentypes"
)

func main() {
	out := flag.String("o", "json_gen.go", "file to write the encoder of analyze.Report to")
	test := flag.String("test", "jsongen_types_test.go", "file to write the encoder of gentypes.GenAll to")
	flag.Parse()
	for _, f := range []struct {
		path string
		t    reflect.Type
		name string
	}{
		{*out, reflect.TypeFor[analyze.Report](), "Report"},
		{*test, reflect.TypeFor[gentypes.GenAll](), "GenAll"},
	} {
		src, err := jsongen.Generate(f.t, "report", f.name)
		if err == nil {
			err = os.WriteFile(f.path, src, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
