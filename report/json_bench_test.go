package report

import (
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/wakeshim/wakeshim/analyze"
)

// BenchmarkWriteJSON: the streaming encoder against json.Marshal alone
// (what the old WriteJSON spent before it indented) on the report of
// WAKESHIM_JSON_TRACE, or of the nethttp shape.
func BenchmarkWriteJSON(b *testing.B) {
	path := os.Getenv("WAKESHIM_JSON_TRACE")
	if path == "" {
		path = "../testdata/shapes/nethttp.trace"
	}
	rep, _ := analyzeTrace(b, path, analyze.Config{})
	data, err := JSON(rep)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("stream", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if err := WriteJSON(io.Discard, rep); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("marshal", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(rep); err != nil {
				b.Fatal(err)
			}
		}
	})
}
