package dump

import (
	"bytes"
	"strconv"
	"strings"
)

// lines iterates over the lines of data with their 1-based numbers,
// without the line terminator (LF or CRLF).
type lines struct {
	data string // the whole dump, converted once: lines are substrings of it
	n    int
}

func (l *lines) next() (string, bool) {
	if len(l.data) == 0 {
		return "", false
	}
	line, rest, _ := strings.Cut(l.data, "\n")
	l.data = rest
	l.n++
	return strings.TrimSuffix(line, "\r"), true
}

// parseDebug1 reads the debug=1 text form:
//
//	goroutine profile: total 4
//	2 @ 0x44b7ce 0x45bd45 0x4e1b87 0x47a9c1
//	# labels: {"k":"v"}
//	#	0x4e1b86	main.worker+0x46	/src/main.go:42
//	(blank line)
func parseDebug1(data []byte, name string) (*Dump, error) {
	d := &Dump{Form: FormDebug1}
	ls := &lines{data: string(data)}
	total := -1
	var cur *Goroutine
	flush := func() {
		if cur != nil {
			d.Total += cur.Count
			d.Goroutines = append(d.Goroutines, *cur)
			cur = nil
		}
	}
	for {
		line, ok := ls.next()
		if !ok {
			break
		}
		switch {
		case total < 0:
			if strings.TrimSpace(line) == "" {
				continue
			}
			kind, n, ok := strings.Cut(line, " profile: total ")
			t, err := strconv.Atoi(strings.TrimSpace(n))
			if !ok || err != nil || t < 0 {
				return nil, errorf(name, ls.n, "bad debug=1 header %q, want \"goroutine profile: total N\"", clip(line))
			}
			total = t
			d.Profile = strings.TrimSpace(kind)
		case strings.TrimSpace(line) == "":
			flush()
		case strings.HasPrefix(line, "# labels: "):
			if cur == nil {
				return nil, errorf(name, ls.n, "labels line outside a stack entry")
			}
			labels, err := parseLabels(strings.TrimPrefix(line, "# labels: "))
			if err != nil {
				return nil, errorf(name, ls.n, "bad labels %q: %v", clip(line), err)
			}
			cur.Labels = labels
		case strings.HasPrefix(line, "#"):
			if cur == nil {
				return nil, errorf(name, ls.n, "frame line outside a stack entry")
			}
			f, ok, err := parseDebug1Frame(line)
			if err != nil {
				return nil, errorf(name, ls.n, "bad frame line %q: %v", clip(line), err)
			}
			if ok {
				cur.Frames = append(cur.Frames, f)
			}
		default:
			count, pcs, found := strings.Cut(line, " @")
			n, err := strconv.Atoi(count)
			if !found || err != nil || n < 0 {
				return nil, errorf(name, ls.n, "bad stack entry header %q, want \"COUNT @ PC...\"", clip(line))
			}
			_ = pcs
			flush()
			cur = &Goroutine{Count: n, Line: ls.n}
		}
	}
	flush()
	if total < 0 {
		return nil, errorf(name, 0, "no debug=1 header")
	}
	return d, nil
}

// parseDebug1Frame parses "#\tPC\tFUNC+OFF\tFILE:LINE" (fields separated
// by one or more tabs, as text/tabwriter pads them). A frame the runtime
// could not symbolise ("#\tPC") gives ok == false.
func parseDebug1Frame(line string) (Frame, bool, error) {
	var fields []string
	for _, f := range strings.Split(strings.TrimPrefix(line, "#"), "\t") {
		if f = strings.TrimSpace(f); f != "" {
			fields = append(fields, f)
		}
	}
	switch len(fields) {
	case 1:
		return Frame{}, false, nil
	case 3:
	default:
		return Frame{}, false, errString("want PC, FUNC+OFFSET and FILE:LINE separated by tabs")
	}
	fn := fields[1]
	if i := strings.LastIndex(fn, "+0x"); i > 0 {
		fn = fn[:i]
	}
	file, ln, ok := splitFileLine(fields[2])
	if !ok {
		return Frame{}, false, errString("no FILE:LINE")
	}
	return Frame{Func: fn, File: file, Line: ln}, true, nil
}

// parseLabels parses {"k":"v", "k2":"v2"}.
func parseLabels(s string) (map[string]string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, errString("not in braces")
	}
	s = strings.TrimSpace(s[1 : len(s)-1])
	m := map[string]string{}
	for s != "" {
		k, rest, err := quoted(s)
		if err != nil {
			return nil, err
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, ":") {
			return nil, errString("want ':' after a key")
		}
		v, rest, err := quoted(strings.TrimSpace(rest[1:]))
		if err != nil {
			return nil, err
		}
		m[k] = v
		s = strings.TrimSpace(rest)
		s = strings.TrimSpace(strings.TrimPrefix(s, ","))
	}
	return m, nil
}

func quoted(s string) (string, string, error) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", "", errString("want a quoted string")
	}
	v, err := strconv.Unquote(q)
	if err != nil {
		return "", "", errString("want a quoted string")
	}
	return v, s[len(q):], nil
}

type errString string

func (e errString) Error() string { return string(e) }

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// parseHeader parses a debug=2 goroutine header:
//
//	goroutine 18 [chan receive, 3 minutes, locked to thread]:
//	goroutine 1 gp=0xc000002380 m=0 mp=0x5e2a00 [running]:
//	goroutine 7 [select labels:{"k": "v"}]:
func parseHeader(line string) (g Goroutine, ok bool) {
	rest, found := strings.CutPrefix(line, "goroutine ")
	if !found {
		return g, false
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 || i > 20 || i == len(rest) || rest[i] != ' ' {
		return g, false
	}
	id, err := strconv.ParseUint(rest[:i], 10, 64)
	if err != nil {
		return g, false
	}
	rest = rest[i:]
	open := strings.IndexByte(rest, '[')
	if open < 0 || !strings.HasSuffix(rest, "]:") {
		return g, false
	}
	// Between the id and the bracket only " gp=... m=... mp=..." may come.
	for _, f := range strings.Fields(rest[:open]) {
		if !strings.HasPrefix(f, "gp=") && !strings.HasPrefix(f, "m=") && !strings.HasPrefix(f, "mp=") {
			return g, false
		}
	}
	status := rest[open+1 : len(rest)-2]
	g = Goroutine{Count: 1, ID: id, HasID: true}
	if j := strings.Index(status, " labels:{"); j >= 0 {
		if labels, err := parseLabels(status[j+len(" labels:"):]); err == nil && len(labels) > 0 {
			g.Labels = labels
		}
		status = status[:j]
	}
	parts := strings.Split(status, ", ")
	g.State = strings.TrimSuffix(parts[0], " (scan)")
	for _, p := range parts[1:] {
		if m, found := strings.CutSuffix(p, " minutes"); found {
			if n, err := strconv.Atoi(m); err == nil && n >= 0 {
				g.WaitMinutes = n
			}
		}
	}
	return g, true
}

// hasDebug2Header reports whether data has a line that is a debug=2
// goroutine header.
func hasDebug2Header(data []byte) bool {
	ls := &lines{data: string(data)}
	for {
		line, ok := ls.next()
		if !ok {
			return false
		}
		if _, ok := parseHeader(line); ok {
			return true
		}
	}
}

// parseFuncLine parses a debug=2 function line, "FUNC(ARGS)" where ARGS is
// "...", hex words, "{...}" or empty. It returns the function.
func parseFuncLine(line string) (string, bool) {
	if !strings.HasSuffix(line, ")") || strings.HasPrefix(line, "\t") || strings.HasPrefix(line, " ") {
		return "", false
	}
	depth := 0
	for i := len(line) - 1; i >= 0; i-- {
		switch line[i] {
		case ')':
			depth++
		case '(':
			depth--
			if depth == 0 {
				if i == 0 {
					return "", false
				}
				return line[:i], true
			}
		}
	}
	return "", false
}

// parseFileLine parses a debug=2 position line, "\tFILE:LINE", optionally
// followed by " +0xOFF" and, with GOTRACEBACK=system or higher,
// " fp=... sp=... pc=...".
func parseFileLine(line string) (string, int, bool) {
	s, found := strings.CutPrefix(line, "\t")
	if !found {
		return "", 0, false
	}
	if i := strings.Index(s, " fp="); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndex(s, " +0x"); i >= 0 {
		s = s[:i]
	}
	return splitFileLine(strings.TrimRight(s, " "))
}

// parseDebug2 reads debug=2 goroutine blocks, ignoring lines outside them
// (a panic message before, a SIGQUIT register dump after, "exit status 2").
func parseDebug2(data []byte, name string) (*Dump, error) {
	d := &Dump{Form: FormDebug2}
	ls := &lines{data: string(data)}
	var (
		cur       *Goroutine
		fn        string // function line waiting for its position line
		fnLine    int
		created   bool // fn is a "created by"
		ancestors bool // in an "[originating from goroutine N]:" section
	)
	flush := func() error {
		if fn != "" {
			return errorf(name, fnLine, "goroutine %d: function line %q is not followed by a \"\\tFILE:LINE\" line", cur.ID, clip(fn))
		}
		cur, ancestors = nil, false
		return nil
	}
	// One entry per goroutine header; cur points at the last one while its
	// block is read (entries are only appended at headers).
	d.Goroutines = make([]Goroutine, 0, bytes.Count(data, []byte("\ngoroutine "))+1)
	for {
		line, ok := ls.next()
		if !ok {
			break
		}
		if g, ok := parseHeader(line); ok {
			if err := flush(); err != nil {
				return nil, err
			}
			g.Line = ls.n
			d.Total++
			d.Goroutines = append(d.Goroutines, g)
			cur = &d.Goroutines[len(d.Goroutines)-1]
			continue
		}
		if cur == nil {
			continue // outside any goroutine block
		}
		if fn != "" {
			file, ln, ok := parseFileLine(line)
			if !ok {
				return nil, errorf(name, ls.n, "goroutine %d: want \"\\tFILE:LINE\" after function %s, found %q", cur.ID, clip(fn), clip(line))
			}
			f := Frame{Func: fn, File: file, Line: ln}
			if created {
				cur.CreatedBy = &f
			} else if !ancestors {
				cur.Frames = append(cur.Frames, f)
			}
			fn = ""
			continue
		}
		switch {
		case strings.TrimSpace(line) == "":
			if err := flush(); err != nil {
				return nil, err
			}
		case strings.HasPrefix(line, "\t"):
			// "\tgoroutine running on other thread; stack unavailable"
			// and the like.
		case strings.HasPrefix(line, "...") && strings.HasSuffix(line, "elided..."):
			if !ancestors {
				cur.Elided = true
			}
		case strings.HasPrefix(line, "[originating from goroutine "):
			ancestors = true
		case strings.HasPrefix(line, "created by "):
			s := strings.TrimPrefix(line, "created by ")
			if i := strings.LastIndex(s, " in goroutine "); i >= 0 {
				if n, err := strconv.ParseUint(s[i+len(" in goroutine "):], 10, 64); err == nil {
					if !ancestors {
						cur.CreatorID = n
					}
					s = s[:i]
				}
			}
			fn, fnLine, created = s, ls.n, !ancestors
			if ancestors {
				created = false
			}
		default:
			f, ok := parseFuncLine(line)
			if !ok {
				// Not part of a goroutine block: the block has ended
				// (e.g. output that follows a traceback without a blank
				// line).
				if err := flush(); err != nil {
					return nil, err
				}
				continue
			}
			if f == "panic" {
				f = "runtime.gopanic" // the runtime prints it as "panic"
			}
			fn, fnLine, created = f, ls.n, false
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(d.Goroutines) == 0 {
		return nil, errorf(name, 0, "no goroutines found")
	}
	return d, nil
}
