// Package fleet puts the records of many instances of a service in
// ClickHouse and answers the report's questions over them: Ship loads a
// run of records (the shim's directory, v9 files, JSONL, traces converted
// on the fly) into the schema of schema.go, Report (report.go) builds the
// report with GROUP BY queries run by ClickHouse. The client speaks
// ClickHouse's HTTP interface with net/http and the RowBinary format:
// see docs/fleet.md for the schema and the choices.
package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Client talks to one ClickHouse server over its HTTP interface.
type Client struct {
	// Database is the database of the URL's ?database= ("wakeshim" if
	// absent).
	Database string
	// Retries is how many times a failed request is retried (connection
	// errors, 5xx answers of a transient kind), with exponential backoff
	// from Backoff (doubling, at most 10s between tries).
	Retries int
	Backoff time.Duration
	// OnRetry, if set, is told of each retry (for a progress line).
	OnRetry func(err error, wait time.Duration)

	base *url.URL
	hc   *http.Client
}

// DefaultDatabase is the database when the URL names none.
const DefaultDatabase = "wakeshim"

// NewClient returns a client of the server at rawURL, such as
// http://127.0.0.1:8123/?database=wakeshim. Other query parameters (user,
// password, ClickHouse settings) are passed on with every request.
func NewClient(rawURL string) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("clickhouse URL %q: %w", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("clickhouse URL %q: want http:// or https:// (ClickHouse's HTTP interface, port 8123 by default)", rawURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("clickhouse URL %q: no host", rawURL)
	}
	q := u.Query()
	db := q.Get("database")
	if db == "" {
		db = DefaultDatabase
	}
	if !identRE().MatchString(db) {
		return nil, fmt.Errorf("clickhouse URL %q: database %q is not a plain identifier", rawURL, db)
	}
	q.Del("database")
	u.RawQuery = q.Encode()
	return &Client{Database: db, Retries: 6, Backoff: 200 * time.Millisecond, base: u,
		hc: &http.Client{Timeout: 5 * time.Minute}}, nil
}

// SetTransport sets the transport of the client's requests (the shim's
// keeps few idle connections, for a short time).
func (c *Client) SetTransport(rt http.RoundTripper) { c.hc.Transport = rt }

var identRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// URL is the server's address, for messages (without credentials).
func (c *Client) URL() string {
	u := *c.base
	u.User = nil
	u.RawQuery = ""
	return u.String()
}

// Error is an error answer of ClickHouse: its HTTP status and its message
// ("Code: 60, e.displayText() = DB::Exception: Table ... doesn't exist").
type Error struct {
	Status  int
	Code    int // ClickHouse's exception code, 0 if the message has none
	Message string
	Query   string // the query, cut to 200 bytes
}

func (e *Error) Error() string {
	return fmt.Sprintf("clickhouse: HTTP %d: %s (query: %s)", e.Status, e.Message, e.Query)
}

var codeRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`Code: ([0-9]+)`) })

// transientCode tells whether a ClickHouse exception code is worth a
// retry: the server was busy or a network between servers failed, the
// query itself is fine. (A switch, not a map: a map is made at package
// initialization, in every program that imports shim/auto.)
func transientCode(code int) bool {
	switch code {
	case 159, // TIMEOUT_EXCEEDED
		164, // READONLY (a replica starting)
		202, // TOO_MANY_SIMULTANEOUS_QUERIES
		203, // NO_FREE_CONNECTION
		209, // SOCKET_TIMEOUT
		210, // NETWORK_ERROR
		241, // MEMORY_LIMIT_EXCEEDED
		252, // TOO_MANY_PARTS
		425: // SYSTEM_ERROR
		return true
	}
	return false
}

// retryable tells whether a failed request may be sent again. sent says
// whether the request may have reached the server.
func retryable(err error) bool {
	var ce *Error
	if errors.As(err, &ce) {
		if ce.Status == 502 || ce.Status == 503 || ce.Status == 504 {
			return true
		}
		return ce.Status >= 500 && transientCode(ce.Code)
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// neverSent tells whether a failed request certainly did not reach the
// server (the connection was refused), so that an INSERT can be sent
// again without checking whether it was applied.
func neverSent(err error) bool {
	var oe *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &oe) && oe.Op == "dial")
}

// do sends one request: query in the URL when body is given (an INSERT's
// rows), else in the body. It returns the answer's body.
func (c *Client) do(ctx context.Context, query string, body []byte, useDB bool) ([]byte, error) {
	u := *c.base
	q := u.Query()
	if useDB {
		q.Set("database", c.Database)
	}
	var rd io.Reader
	if body != nil {
		q.Set("query", query)
		rd = bytes.NewReader(body)
	} else {
		rd = strings.NewReader(query)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, "POST", u.String(), rd)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err // not its URL: the query is in it
		}
		return nil, fmt.Errorf("clickhouse %s: %w", c.URL(), err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: reading the answer: %w", c.URL(), err)
	}
	if resp.StatusCode != 200 {
		msg := strings.TrimSpace(string(out))
		ce := &Error{Status: resp.StatusCode, Message: msg, Query: cut(query, 200)}
		if m := codeRE().FindStringSubmatch(msg); m != nil {
			ce.Code, _ = strconv.Atoi(m[1])
		}
		return nil, ce
	}
	// An exception after the answer began (the status already sent) ends
	// the body with its message.
	if i := bytes.LastIndex(out, []byte("Code: ")); i >= 0 && bytes.Contains(out[i:], []byte("DB::Exception")) {
		msg := strings.TrimSpace(string(out[i:]))
		ce := &Error{Status: resp.StatusCode, Message: msg, Query: cut(query, 200)}
		if m := codeRE().FindStringSubmatch(msg); m != nil {
			ce.Code, _ = strconv.Atoi(m[1])
		}
		return nil, ce
	}
	return out, nil
}

func cut(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// retry runs fn until it succeeds, fails for good, or the retries are
// spent, waiting Backoff, 2×Backoff, ... (at most 10s) between tries.
func (c *Client) retry(ctx context.Context, fn func() error) error {
	wait := c.Backoff
	for i := 0; ; i++ {
		err := fn()
		if err == nil || !retryable(err) || i >= c.Retries {
			if err != nil && i > 0 {
				err = fmt.Errorf("%w (after %d retries)", err, i)
			}
			return err
		}
		if c.OnRetry != nil {
			c.OnRetry(err, wait)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (retry cancelled: %v)", err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}

// Exec runs a statement in the client's database, with retries.
func (c *Client) Exec(ctx context.Context, query string) error {
	return c.retry(ctx, func() error { _, err := c.do(ctx, query, nil, true); return err })
}

// execNoDB runs a statement outside any database (CREATE DATABASE).
func (c *Client) execNoDB(ctx context.Context, query string) error {
	return c.retry(ctx, func() error { _, err := c.do(ctx, query, nil, false); return err })
}

// Query runs a SELECT and returns its rows in TabSeparated form, each
// field unescaped.
func (c *Client) Query(ctx context.Context, query string) ([][]string, error) {
	var out []byte
	err := c.retry(ctx, func() error {
		var err error
		out, err = c.do(ctx, query+" FORMAT TabSeparated", nil, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	var rows [][]string
	if len(out) == 0 {
		return nil, nil
	}
	for line := range strings.SplitSeq(strings.TrimSuffix(string(out), "\n"), "\n") {
		fields := strings.Split(line, "\t")
		for i, f := range fields {
			fields[i] = unescapeTSV(f)
		}
		rows = append(rows, fields)
	}
	return rows, nil
}

func unescapeTSV(s string) string {
	if !strings.ContainsRune(s, '\\') {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch != '\\' || i+1 == len(s) {
			b.WriteByte(ch)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// Quote returns s as a ClickHouse string literal.
func Quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\t", `\t`, "\r", `\r`, "\x00", `\0`)
	return "'" + r.Replace(s) + "'"
}

// Insert sends rows, encoded in RowBinary for the columns cols, to table.
// A request that may have reached the server is sent again only after
// check says its rows are not there (check returns the rows present: 0,
// or all of them when the first try was applied after all; anything else
// is an error, as the insert cannot be retried without duplicates).
func (c *Client) Insert(ctx context.Context, table string, cols []string, rows []byte, n int, check func() (int, error)) error {
	q := fmt.Sprintf("INSERT INTO %s.%s (%s) FORMAT RowBinary", c.Database, table, strings.Join(cols, ", "))
	first := true
	return c.retry(ctx, func() error {
		if !first && check != nil {
			have, err := check()
			if err != nil {
				return err
			}
			switch have {
			case n:
				return nil // the lost answer's insert was applied
			case 0:
			default:
				return fmt.Errorf("clickhouse: an INSERT into %s retried after a lost answer left %d of its %d rows: not retried", table, have, n)
			}
		}
		first = false
		_, err := c.do(ctx, q, rows, false)
		if err != nil && neverSent(err) {
			first = true // nothing to check: it never reached the server
		}
		return err
	})
}
