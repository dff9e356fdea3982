package convcore

import (
	"bufio"
	"bytes"
	"fmt"
	"testing"

	"github.com/wakeshim/wakeshim/format"
)

// TestConverterLanes: the converter's fast lanes (goHot, and Hot records
// written through format.HotWriter into a bufio.Writer) and its general
// paths (goTransition, Records given to WriteRecord of a Writer on a
// plain io.Writer) give byte-identical output on every trace we have (testdata, the
// real server's capture, the busy trace when present and not under
// -race), with either parser and the configurations of the differential
// tests. The differential tests cannot see a difference between the two
// lanes: they run both parsers through the same converter.
func TestConverterLanes(t *testing.T) {
	defer func() { hotLane = true }()
	convert := func(in []byte, cfg Config, lane bool) []byte {
		hotLane = lane
		var buf bytes.Buffer
		var out Output
		bw := bufio.NewWriter(&buf)
		if lane {
			w, err := format.NewWriter(bw)
			if err != nil {
				t.Fatal(err)
			}
			out = hotSegments{w}
		} else {
			w, err := format.NewWriter(&buf)
			if err != nil {
				t.Fatal(err)
			}
			out = anySegments{w}
		}
		if _, err := Convert(bytes.NewReader(in), cfg, out, nil); err != nil {
			t.Fatalf("hot lane %v: %v", lane, err)
		}
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, tr := range wholeTraces(t) {
		base, in := tr.base, tr.in
		for i, cfg := range diffConfigs {
			for _, parser := range []Parser{ParserFast, ParserExp} {
				if base == "busy.trace" && (i > 0 || parser == ParserExp) {
					continue
				}
				cfg.Parser = parser
				t.Run(fmt.Sprintf("%s/%d/%s", base, i, parser), func(t *testing.T) {
					hot, general := convert(in, cfg, true), convert(in, cfg, false)
					if !bytes.Equal(hot, general) {
						n := 0
						for n < min(len(hot), len(general)) && hot[n] == general[n] {
							n++
						}
						t.Fatalf("the lanes differ from byte %d (hot lane %d bytes, general path %d)", n, len(hot), len(general))
					}
				})
			}
		}
	}
}
