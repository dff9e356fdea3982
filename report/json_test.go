package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wakeshim/wakeshim/analyze"
	"github.com/wakeshim/wakeshim/report/internal/jsongen"
	"github.com/wakeshim/wakeshim/report/internal/jsongen/gentypes"
)

// wantJSON is the document as WriteJSON wrote it before it streamed:
// json.Marshal, indented by two spaces, and a final newline.
func wantJSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	require.NoError(t, err)
	return append(data, '\n')
}

// writes records the pieces WriteJSON writes.
type writes struct {
	bytes.Buffer
	n, max int
}

func (w *writes) Write(p []byte) (int, error) {
	w.n++
	w.max = max(w.max, len(p))
	return w.Buffer.Write(p)
}

func requireSameJSON(t *testing.T, r *analyze.Report) {
	t.Helper()
	var got writes
	require.NoError(t, WriteJSON(&got, r))
	want := wantJSON(t, r)
	if !bytes.Equal(want, got.Bytes()) {
		require.Equal(t, string(want), got.String()) // the diff
	}
	data, err := JSON(r)
	require.NoError(t, err)
	require.Equal(t, want, data)
}

// TestWriteJSONTestdata: the report of every bundled input, as
// `wakeshim report` makes it, is json.MarshalIndent's document.
func TestWriteJSONTestdata(t *testing.T) {
	var inputs []string
	for _, glob := range []string{"../testdata/traces/*.trace", "../testdata/shapes/*.trace", "../testdata/realtraces/*.trace", "../testdata/leaks/out/*.trace"} {
		m, err := filepath.Glob(glob)
		require.NoError(t, err)
		inputs = append(inputs, m...)
	}
	require.NotEmpty(t, inputs)
	for _, path := range inputs {
		name := strings.TrimPrefix(path, "../testdata/")
		t.Run(name, func(t *testing.T) {
			if fi, err := os.Stat(path); err == nil && fi.Size() > 4<<20 && testing.Short() {
				t.Skip("large; not in -short")
			}
			var cfg analyze.Config
			// The leak reproducers' profiles fill the verdicts' proofs.
			if leak := strings.TrimSuffix(path, ".trace") + ".leak.txt"; fileExists(leak) {
				p, err := analyze.ReadLeakProfile(leak, 0)
				require.NoError(t, err)
				cfg.Leaks = append(cfg.Leaks, p)
			}
			rep, _ := analyzeTrace(t, path, cfg)
			requireSameJSON(t, rep)
		})
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestWriteJSONRandom: reports with every field filled, at random (odd
// strings, numbers of every size, nil and empty lists and maps), are
// json.MarshalIndent's documents; so are the values of gentypes.GenAll,
// which use what jsongen supports and the report does not.
func TestWriteJSONRandom(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		f := filler{r: rnd, maxLen: 1 + i%6}
		var r analyze.Report
		f.fill(reflect.ValueOf(&r).Elem())
		requireSameJSON(t, &r)

		var g gentypes.GenAll
		f.fill(reflect.ValueOf(&g).Elem())
		want := wantJSON(t, &g)
		var got bytes.Buffer
		e := &jsonWriter{w: &got}
		e.flush(append(appendGenAllJSON(e, nil, &g), '\n'))
		require.NoError(t, e.err)
		require.NoError(t, checkGenAllJSON(&g))
		require.Equal(t, string(want), got.String())
	}
}

// TestWriteJSONStreams: a large document is written in pieces of about
// 64 KB, never whole.
func TestWriteJSONStreams(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	var r analyze.Report
	(&filler{r: rnd, maxLen: 4}).fill(reflect.ValueOf(&r).Elem())
	for i := range 20000 {
		r.Queue = append(r.Queue, analyze.QueuePoint{TS: int64(i) * 1000, GlobalQ: i})
		r.Warnings = append(r.Warnings, strings.Repeat("<w>", i%50))
	}
	var got writes
	require.NoError(t, WriteJSON(&got, &r))
	require.Equal(t, string(wantJSON(t, &r)), got.String())
	require.Greater(t, got.Len(), 1<<20)
	require.Greater(t, got.n, got.Len()/(jsonChunk+8<<10))
	require.Less(t, got.max, jsonChunk+8<<10)
}

// TestWriteJSONNaN: a float encoding/json cannot write fails WriteJSON
// as it fails json.Marshal, before any byte is written.
func TestWriteJSONNaN(t *testing.T) {
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		r := &analyze.Report{
			Pending: []analyze.PendingGroup{{Roots: []analyze.RootShare{{Percent: 1}}}},
			Chains:  []analyze.Chain{{}, {Roots: []analyze.RootShare{{Percent: 2}, {Percent: f}}}},
		}
		_, want := json.Marshal(r)
		require.Error(t, want)
		var got bytes.Buffer
		err := WriteJSON(&got, r)
		require.EqualError(t, err, want.Error())
		var uv *json.UnsupportedValueError
		require.ErrorAs(t, err, &uv)
		require.Zero(t, got.Len())
	}
	var got bytes.Buffer
	require.NoError(t, WriteJSON(&got, nil))
	require.Equal(t, string(wantJSON(t, (*analyze.Report)(nil))), got.String())
}

type jsonFailWriter struct{ after int }

var errJSONWrite = errors.New("disk full")

func (w *jsonFailWriter) Write(p []byte) (int, error) {
	if w.after--; w.after < 0 {
		return 0, errJSONWrite
	}
	return len(p), nil
}

// TestWriteJSONWriteError: a failed write is WriteJSON's error, and it
// writes nothing more.
func TestWriteJSONWriteError(t *testing.T) {
	var r analyze.Report
	for i := range 50000 {
		r.Queue = append(r.Queue, analyze.QueuePoint{TS: int64(i), GlobalQ: i})
	}
	for _, after := range []int{0, 1, 3} {
		w := &jsonFailWriter{after: after}
		require.ErrorIs(t, WriteJSON(w, &r), errJSONWrite)
		require.Equal(t, -1, w.after)
	}
}

// TestJSONGenerated: json_gen.go and jsongen_types_test.go are what
// jsongen makes of the types now: a field added to analyze.Report's
// types is in the encoder once `go generate ./report` is run, and this
// fails until it is.
func TestJSONGenerated(t *testing.T) {
	for _, c := range []struct {
		file, name string
		t          reflect.Type
	}{
		{"json_gen.go", "Report", reflect.TypeFor[analyze.Report]()},
		{"jsongen_types_test.go", "GenAll", reflect.TypeFor[gentypes.GenAll]()},
	} {
		want, err := jsongen.Generate(c.t, "report", c.name)
		require.NoError(t, err)
		got, err := os.ReadFile(c.file)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got), "%s is stale: run go generate ./report", c.file)
	}
}

// TestJSONGenRefuses: jsongen will not write an encoder for what it
// cannot write as encoding/json does.
func TestJSONGenRefuses(t *testing.T) {
	for _, c := range []struct {
		t    reflect.Type
		want string
	}{
		{reflect.TypeFor[refuseMarshaler](), "MarshalJSON or MarshalText"},
		{reflect.TypeFor[refuseText](), "MarshalJSON or MarshalText"},
		{reflect.TypeFor[refuseFloat32](), "kind float32"},
		{reflect.TypeFor[refuseBytes](), "base64"},
		{reflect.TypeFor[refuseArray](), "kind array"},
		{reflect.TypeFor[refuseAny](), "kind interface"},
		{reflect.TypeFor[refuseStringOpt](), `option "string"`},
		{reflect.TypeFor[refuseOmitzero](), `option "omitzero"`},
		{reflect.TypeFor[refuseDup](), `both "a"`},
		{reflect.TypeFor[refuseEmbedPtr](), "embedded pointer"},
		{reflect.TypeFor[refuseIntKeys](), "keys not strings"},
		{reflect.TypeFor[refuseFloatMap](), "a map holding floats"},
		{reflect.TypeFor[refuseName](), `tag name "a-b"`},
		{reflect.TypeFor[refuseUnnamed](), "unnamed struct"},
		{reflect.TypeFor[int](), "not a struct"},
	} {
		_, err := jsongen.Generate(c.t, "report", "X")
		require.ErrorContains(t, err, c.want, c.t.String())
	}
}

// The types jsongen refuses.
type (
	refuseMarshaler struct{ T json.RawMessage }
	refuseText      struct{ T net4 }
	refuseFloat32   struct{ F float32 }
	refuseBytes     struct{ B []byte }
	refuseArray     struct{ A [2]int }
	refuseAny       struct{ I any }
	refuseStringOpt struct {
		N int `json:"n,string"`
	}
	refuseOmitzero struct {
		N int `json:"n,omitzero"`
	}
	refuseDup struct {
		A          int `json:"a"`
		refuseDupB     // its "a" (encoding/json would drop it, the deeper)
	}
	refuseDupB struct {
		X int `json:"a"`
	}
	refuseEmbedPtr struct{ *refuseIntKeys }
	refuseIntKeys  struct{ M map[int]int }
	refuseFloatMap struct{ M map[string]float64 }
	refuseName     struct {
		N int `json:"a-b"`
	}
	refuseUnnamed struct{ S struct{ X int } }
)

// net4 has a MarshalText method.
type net4 [4]byte

func (n net4) MarshalText() ([]byte, error) { return []byte("x"), nil }

// filler fills values at random by reflection, every exported field.
type filler struct {
	r      *rand.Rand
	maxLen int
}

// oddStrings are strings encoding/json escapes or mends.
var oddStrings = []string{
	"", "plain", `"quoted"`, `back\slash`, "<script>&amp;</script>",
	"tab\tnew\nline\rcr\bbs\fff", "\x00\x01\x1f\x7f", "é日本語🙂",
	"\u2028\u2029", "bad \xff\xfe utf-8 \xc3", "\xed\xa0\x80 surrogate",
	"trunc \xe6\x97", "main.(*T).f created at x.go:12", "{[,:]}",
}

func (f *filler) string() string {
	switch f.r.IntN(3) {
	case 0:
		return oddStrings[f.r.IntN(len(oddStrings))]
	case 1:
		b := make([]byte, f.r.IntN(12))
		for i := range b {
			b[i] = byte(f.r.UintN(256))
		}
		return string(b)
	}
	var sb strings.Builder
	for range f.r.IntN(6) {
		sb.WriteString(oddStrings[f.r.IntN(len(oddStrings))])
		sb.WriteRune(rune(f.r.IntN(0x3000)))
	}
	return sb.String()
}

func (f *filler) int(bits int) int64 {
	switch f.r.IntN(5) {
	case 0:
		return 0
	case 1:
		return int64(f.r.IntN(100)) - 50
	case 2:
		return int64(f.r.Uint64()) >> (64 - bits) // the type's range, negative ones too
	case 3:
		if f.r.IntN(2) == 0 {
			return math.MaxInt64 >> (64 - bits)
		}
		return math.MinInt64 >> (64 - bits)
	}
	return f.r.Int64N(1e12) * 1000
}

func (f *filler) uint(bits int) uint64 {
	switch f.r.IntN(4) {
	case 0:
		return 0
	case 1:
		return math.MaxUint64 >> (64 - bits)
	case 2:
		return f.r.Uint64() >> (64 - bits)
	}
	return uint64(f.r.IntN(1000))
}

// floats are the magnitudes where encoding/json's format changes, and
// the extremes.
var floats = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.5, 100, 33.333333333333336, 1e-6, 9.999999999999999e-7,
	1e-7, 1e21, 9.999999999999999e20, 1e20, 123456789012345678901.0, 5e-324,
	math.SmallestNonzeroFloat64, math.MaxFloat64, -math.MaxFloat64, 1e-9, 1e-10, 1e100, 2.5e-8,
}

func (f *filler) float() float64 {
	switch f.r.IntN(4) {
	case 0:
		return floats[f.r.IntN(len(floats))]
	case 1:
		return f.r.Float64() * 100
	case 2:
		return math.Float64frombits(f.r.Uint64()&^(0x7ff<<52) | uint64(f.r.IntN(0x7ff))<<52) // finite
	}
	return (f.r.Float64() - 0.5) * math.Pow(10, float64(f.r.IntN(80)-40))
}

// size is a list's or map's: nil (-1), empty, or a few.
func (f *filler) size() int {
	switch f.r.IntN(6) {
	case 0:
		return -1
	case 1:
		return 0
	}
	return 1 + f.r.IntN(f.maxLen)
}

func (f *filler) fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			if fv := v.Field(i); fv.CanSet() || v.Type().Field(i).Anonymous {
				if fv.CanSet() {
					f.fill(fv)
				} else if fv.Kind() == reflect.Struct {
					f.fillPromoted(fv)
				}
			}
		}
	case reflect.String:
		v.SetString(f.string())
	case reflect.Bool:
		v.SetBool(f.r.IntN(2) == 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(f.int(v.Type().Bits()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(f.uint(v.Type().Bits()))
	case reflect.Float64:
		v.SetFloat(f.float())
	case reflect.Pointer:
		if f.r.IntN(3) > 0 {
			p := reflect.New(v.Type().Elem())
			f.fill(p.Elem())
			v.Set(p)
		}
	case reflect.Slice:
		if n := f.size(); n >= 0 {
			s := reflect.MakeSlice(v.Type(), n, n)
			for i := range n {
				f.fill(s.Index(i))
			}
			v.Set(s)
		}
	case reflect.Map:
		if n := f.size(); n >= 0 {
			m := reflect.MakeMap(v.Type())
			for range n {
				k := reflect.New(v.Type().Key()).Elem()
				f.fill(k)
				e := reflect.New(v.Type().Elem()).Elem()
				f.fill(e)
				m.SetMapIndex(k, e)
			}
			v.Set(m)
		}
	default:
		panic("filler: " + v.Type().String())
	}
}

// fillPromoted fills the exported fields of an unexported embedded
// struct, which reflection reaches but cannot set whole.
func (f *filler) fillPromoted(v reflect.Value) {
	for i := range v.NumField() {
		if fv := v.Field(i); fv.CanSet() {
			f.fill(fv)
		}
	}
}

// FuzzJSONString: appendJSONString writes any string as json.Marshal
// does.
func FuzzJSONString(f *testing.F) {
	for _, s := range oddStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendJSONString([]byte("x"), s)[1:]))
	})
}

// FuzzJSONFloat: appendJSONFloat writes any finite float64 as
// json.Marshal does, and jsonFloatErr fails the others with its error;
// f is given both as a number and as its bits.
func FuzzJSONFloat(f *testing.F) {
	for _, x := range floats {
		f.Add(x, math.Float64bits(-x))
	}
	f.Add(math.NaN(), math.Float64bits(math.Inf(1)))
	f.Fuzz(func(t *testing.T, x float64, bits uint64) {
		for _, x := range []float64{x, math.Float64frombits(bits)} {
			want, wantErr := json.Marshal(x)
			err := jsonFloatErr(x)
			if wantErr != nil {
				require.EqualError(t, err, wantErr.Error())
				continue
			}
			require.NoError(t, err)
			require.Equal(t, string(want), string(appendJSONFloat([]byte("x"), x)[1:]))
		}
	})
}
