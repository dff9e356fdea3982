package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

var indentCases = []string{
	`{}`, `[]`, `""`, `0`, `null`,
	`{"a":[],"b":{},"c":[{}],"d":[[]]}`,
	`{"s":"a \"quoted\" {brace} [x], y: z","t":"\\","u":"\\\"","v":"tab\tuni\u00e9\u2028<>&"}`,
	`[1,-2.5e10,true,false,null,"x",{"k":[1,{"k2":"v"}]}]`,
	`{"deep":{"deeper":{"deepest":[1,[2,[3,[]]]]}}}`,
	`"ends in a backslash pair \\\\"`,
}

// TestWriteIndented checks the streaming indenter against
// json.MarshalIndent's layout on tricky documents and on reports of the
// testdata traces.
func TestWriteIndented(t *testing.T) {
	for _, c := range indentCases {
		t.Run(c, func(t *testing.T) { checkIndent(t, []byte(c)) })
	}
	big := bytes.Repeat([]byte(`{"name":"`+string(bytes.Repeat([]byte("x"), 1000))+`","n":[1,2,3]},`), 200)
	checkIndent(t, append(append([]byte("["), big[:len(big)-1]...), ']')) // past the 64 KB pieces
}

func checkIndent(t *testing.T, compact []byte) {
	t.Helper()
	var want bytes.Buffer
	require.NoError(t, json.Indent(&want, compact, "", "  "))
	want.WriteByte('\n')
	var got bytes.Buffer
	require.NoError(t, writeIndented(&got, compact))
	require.Equal(t, want.String(), got.String())
}

// FuzzWriteIndented: any valid JSON, compacted as json.Marshal would
// give it, is laid out as json.Indent lays it out.
func FuzzWriteIndented(f *testing.F) {
	for _, c := range indentCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var compact bytes.Buffer
		if json.Compact(&compact, in) != nil {
			return
		}
		checkIndent(t, compact.Bytes())
	})
}
