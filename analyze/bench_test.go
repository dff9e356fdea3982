package analyze

import (
	"testing"

	"github.com/wakeshim/wakeshim/convert"
	"github.com/wakeshim/wakeshim/records"
)

// BenchmarkAdd measures the analysis alone (one analyzer, its report) on
// the events of a small real trace held in memory; make bench measures
// the whole report on the large trace.
func BenchmarkAdd(b *testing.B) {
	ins, err := records.Expand([]string{traceFile("pingpong.trace")})
	if err != nil {
		b.Fatal(err)
	}
	var evs []records.Event
	for ev, err := range records.NewRun(ins, records.Options{Convert: convert.Config{Ignore: convert.SystemGoroutine}}).Events() {
		if err != nil {
			b.Fatal(err)
		}
		e := *ev
		e.Frames = append([]uint16(nil), ev.Frames...)
		evs = append(evs, e)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		a, err := New(Config{})
		if err != nil {
			b.Fatal(err)
		}
		for i := range evs {
			a.Add(&evs[i])
		}
		a.Report(evs[len(evs)-1].T)
	}
}
