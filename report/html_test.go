package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// embeddedData returns the JSON embedded in a page.
func embeddedData(t *testing.T, page string) string {
	t.Helper()
	const open = `<script type="application/json" id="report-data">`
	i := strings.Index(page, open)
	require.GreaterOrEqual(t, i, 0, "no data element")
	rest := page[i+len(open):]
	j := strings.Index(rest, "</script>")
	require.GreaterOrEqual(t, j, 0, "data element not closed")
	return rest[:j]
}

func TestWriteEmbedsReportSafely(t *testing.T) {
	hostile := []string{
		"</script><script>alert(1)</script>",
		"</SCRIPT >",
		"<!-- <script>",
		"a & b > c",
		"line\u2028separator\u2029",
		`back\slash "quoted" </script`,
		"ünïcødé ⌛",
	}
	for _, s := range hostile {
		t.Run(s, func(t *testing.T) {
			report := map[string]any{
				"pending": []any{map[string]any{"reason": s, "frames": []string{s + " x.go:1"}, "count": 1}},
			}
			in, err := json.Marshal(report)
			require.NoError(t, err)
			var buf bytes.Buffer
			require.NoError(t, WriteHTML(&buf, in))
			data := embeddedData(t, buf.String())
			assert.NotContains(t, strings.ToLower(data), "<", "a '<' left in the data could open or close an element")
			var back map[string]any
			require.NoError(t, json.Unmarshal([]byte(data), &back))
			var want map[string]any
			require.NoError(t, json.Unmarshal(in, &want))
			assert.Equal(t, want, back, "the page's data reads back as the report")
			// Exactly the page's own three elements: style, data, script.
			assert.Equal(t, 2, strings.Count(strings.ToLower(buf.String()), "</script>"))
		})
	}
}

func TestWriteFixtureRoundTrip(t *testing.T) {
	in, err := os.ReadFile("testdata/fixture.json")
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, WriteHTML(&buf, in))
	var got, want any
	require.NoError(t, json.Unmarshal([]byte(embeddedData(t, buf.String())), &got))
	require.NoError(t, json.Unmarshal(in, &want))
	assert.Equal(t, want, got)
	assert.Contains(t, buf.String(), "<title>wakeshim report: testdata/traces/app.trace</title>")
}

func TestWriteBadInput(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		is             error
	}{
		{name: "empty", in: "", want: "report: report JSON"},
		{name: "not json", in: "hello", want: "byte offset 1"},
		{name: "truncated", in: `{"pending": [`, want: "report: report JSON"},
		{name: "garbage after", in: `{} x`, want: "byte offset 4"},
		{name: "array", in: `[1, 2]`, is: ErrNotReport},
		{name: "string", in: `"x"`, is: ErrNotReport},
		{name: "null", in: `null`, is: ErrNotReport},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteHTML(&buf, []byte(tc.in))
			require.Error(t, err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.Contains(t, err.Error(), tc.want)
			assert.Zero(t, buf.Len(), "nothing written for a bad report")
		})
	}
}

// The page is opened offline: nothing in it may name something to fetch.
func TestPageIsSelfContained(t *testing.T) {
	in, err := os.ReadFile("testdata/fixture.json")
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, WriteHTML(&buf, in))
	page := buf.String()
	for _, re := range []string{
		`(?i)<link\b`, `(?i)<script[^>]*\bsrc\s*=`, `(?i)<img\b`, `(?i)<iframe\b`, `(?i)@import`,
		`(?i)url\(\s*['"]?(https?:|//)`, `(?i)(src|href)\s*=\s*['"]?(https?:|//)`, `(?i)@font-face`,
		`(?i)\bfetch\(`, `(?i)XMLHttpRequest`, `(?i)\.src\s*=`,
	} {
		assert.NotRegexp(t, regexp.MustCompile(re), page, "the page must fetch nothing")
	}
	assert.Contains(t, page, `default-src 'none'`, "a content security policy forbids any fetch")
}

// The inline assets must not end their own elements.
func TestAssetsStayInTheirElements(t *testing.T) {
	assert.NotContains(t, strings.ToLower(pageJS), "</script")
	assert.NotContains(t, pageJS, "<!--")
	assert.NotContains(t, strings.ToLower(pageCSS), "</style")
	for _, f := range []string{"{{TITLE}}", "{{CSS}}", "{{JS}}", "{{DATA}}"} {
		assert.Contains(t, pageTemplate, f)
	}
}

func TestTitle(t *testing.T) {
	for _, tc := range []struct {
		cfg      HTMLConfig
		in, want string
	}{
		{in: `{}`, want: "wakeshim report"},
		{in: `{"inputs":[{"path":"a.bin"},{"path":"b.bin"}]}`, want: "wakeshim report: a.bin (+1)"},
		{cfg: HTMLConfig{Title: "x <y> & z"}, in: `{}`, want: "x &lt;y&gt; &amp; z"},
		{in: `{"inputs":[{"path":"</title><script>"}]}`, want: "wakeshim report: &lt;/title&gt;&lt;script&gt;"},
	} {
		var buf bytes.Buffer
		require.NoError(t, tc.cfg.WriteHTML(&buf, []byte(tc.in)))
		assert.Contains(t, buf.String(), "<title>"+tc.want+"</title>")
	}
}

type failWriter struct{ n int }

var errWrite = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errWrite
	}
	f.n--
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	for n := 0; n < 4; n++ {
		err := WriteHTML(&failWriter{n: n}, []byte(`{}`))
		assert.ErrorIs(t, err, errWrite, "after %d writes", n)
	}
}

// FuzzWrite: any input is refused with an error, or gives a page whose
// data element holds the same JSON, with nothing in it that could end the
// element.
func FuzzWrite(f *testing.F) {
	fixture, err := os.ReadFile("testdata/fixture.json")
	require.NoError(f, err)
	f.Add(fixture)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"pending":[{"frames":["</script><!--"]}]}`))
	f.Add([]byte(` {"a":"\u2028<"} `))
	f.Fuzz(func(t *testing.T, in []byte) {
		var buf bytes.Buffer
		if err := WriteHTML(&buf, in); err != nil {
			assert.Zero(t, buf.Len())
			return
		}
		data := embeddedData(t, buf.String())
		assert.NotContains(t, data, "<")
		var got, want any
		require.NoError(t, json.Unmarshal([]byte(data), &got))
		require.NoError(t, json.Unmarshal(in, &want))
		assert.Equal(t, want, got)
	})
}
