package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// loadConfig is the shape of the nats load: publishers and subscribers on
// one subject family, requesters and a responder on another. Every loop is
// bounded by the phase's duration and by MaxMsgs.
type loadConfig struct {
	Publishers  int   // connections publishing, one goroutine each
	Subscribers int   // connections subscribed to every published subject
	Requesters  int   // goroutines sending requests, on one connection
	Payload     int   // bytes per message
	MaxMsgs     int64 // most messages published in one phase (a bound, not a target)
}

// loadResult counts one phase.
type loadResult struct {
	Dur       time.Duration
	Published int64
	Delivered int64 // messages received by the subscribers
	Requests  int64 // request/reply round trips completed
	Errors    int64 // failed requests, async errors (slow consumer...)
	FirstErr  string
}

// MsgsPerSec is the pub/sub delivery rate.
func (r loadResult) MsgsPerSec() float64 { return float64(r.Delivered) / r.Dur.Seconds() }

// ReqPerSec is the request/reply rate.
func (r loadResult) ReqPerSec() float64 { return float64(r.Requests) / r.Dur.Seconds() }

func (r loadResult) String() string {
	s := fmt.Sprintf("%.0f msgs/s delivered (%d published, %d delivered), %.0f req/s (%d) in %.1fs",
		r.MsgsPerSec(), r.Published, r.Delivered, r.ReqPerSec(), r.Requests, r.Dur.Seconds())
	if r.Errors > 0 {
		s += fmt.Sprintf(", %d errors (first: %s)", r.Errors, r.FirstErr)
	}
	return s
}

// runLoad drives the server at url for dur (or until ctx ends) and closes
// its connections before returning.
func runLoad(ctx context.Context, url string, cfg loadConfig, dur time.Duration) (loadResult, error) {
	var (
		res       loadResult
		delivered atomic.Int64
		published atomic.Int64
		requests  atomic.Int64
		errs      atomic.Int64
		errMu     sync.Mutex // guards firstErr: the client's callbacks run on its goroutines
		firstErr  string
		conns     []*nats.Conn
	)
	noteErr := func(err error) {
		errs.Add(1)
		errMu.Lock()
		if firstErr == "" {
			firstErr = err.Error()
		}
		errMu.Unlock()
	}
	defer func() {
		for _, nc := range conns {
			nc.Close()
		}
	}()
	connect := func(name string) (*nats.Conn, error) {
		nc, err := nats.Connect(url, nats.Name(name), nats.NoReconnect(), nats.Timeout(10*time.Second),
			nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { noteErr(err) }))
		if err != nil {
			return nil, fmt.Errorf("connect %s: %w", name, err)
		}
		conns = append(conns, nc)
		return nc, nil
	}

	var subs []*nats.Conn
	for i := range cfg.Subscribers {
		nc, err := connect(fmt.Sprintf("sub-%d", i))
		if err != nil {
			return res, err
		}
		if _, err := nc.Subscribe("rs.load.*", func(*nats.Msg) { delivered.Add(1) }); err != nil {
			return res, err
		}
		if err := nc.FlushTimeout(10 * time.Second); err != nil { // the subscription is in place
			return res, err
		}
		subs = append(subs, nc)
	}
	resp, err := connect("responder")
	if err != nil {
		return res, err
	}
	if _, err := resp.QueueSubscribe("rs.req", "rs", func(m *nats.Msg) { m.Respond(m.Data) }); err != nil {
		return res, err
	}
	if err := resp.FlushTimeout(10 * time.Second); err != nil {
		return res, err
	}
	req, err := connect("requester")
	if err != nil {
		return res, err
	}
	pubs := make([]*nats.Conn, cfg.Publishers)
	for i := range pubs {
		if pubs[i], err = connect(fmt.Sprintf("pub-%d", i)); err != nil {
			return res, err
		}
	}

	payload := []byte(strings.Repeat("x", cfg.Payload))
	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	t0 := time.Now()
	var wg sync.WaitGroup
	for i, nc := range pubs {
		wg.Go(func() {
			subj := fmt.Sprintf("rs.load.%d", i)
			for n := 0; ctx.Err() == nil; n++ {
				if published.Add(1) > cfg.MaxMsgs {
					published.Add(-1)
					return
				}
				if err := nc.Publish(subj, payload); err != nil {
					noteErr(err)
					return
				}
				// A round trip every 256 messages keeps the publisher
				// within reach of the server: no unbounded backlog.
				if n%256 == 255 {
					if err := nc.FlushTimeout(10 * time.Second); err != nil {
						noteErr(err)
						return
					}
				}
			}
		})
	}
	// A subscriber only receives: the server's reader goroutine for its
	// connection would sit in a read for the whole load, as long as the
	// load lasts, like the silent connection's. A round trip every 50ms
	// keeps those readers busy, so that the silent connection's reader is
	// the only one blocked for long.
	for _, nc := range subs {
		wg.Go(func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				if err := nc.FlushTimeout(10 * time.Second); err != nil && ctx.Err() == nil {
					noteErr(err)
				}
			}
		})
	}
	for range cfg.Requesters {
		wg.Go(func() {
			for ctx.Err() == nil {
				rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
				_, err := req.RequestWithContext(rctx, "rs.req", payload)
				rcancel()
				if err != nil {
					if ctx.Err() == nil {
						noteErr(err)
					}
					continue
				}
				requests.Add(1)
			}
		})
	}
	<-ctx.Done()
	res.Dur = time.Since(t0)
	res.Delivered = delivered.Load()
	res.Requests = requests.Load()
	wg.Wait()
	res.Published = published.Load()
	res.Errors = errs.Load()
	errMu.Lock()
	res.FirstErr = firstErr
	errMu.Unlock()
	return res, nil
}

// silentConn is a raw client connection that says hello and then nothing:
// the server's reader goroutine for it blocks in a network read until the
// connection ends.
type silentConn struct {
	conn net.Conn
	Pong time.Time // when its PONG arrived: the server's reader has gone back to read
}

// openSilent connects to addr as a NATS client: reads INFO, sends CONNECT
// and PING, reads PONG. Every step waits on the protocol, within timeout.
func openSilent(addr string, timeout time.Duration) (*silentConn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*silentConn, error) {
		c.Close()
		return nil, fmt.Errorf("silent client: %w", err)
	}
	c.SetDeadline(time.Now().Add(timeout))
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return fail(err)
	}
	if !strings.HasPrefix(line, "INFO ") {
		return fail(fmt.Errorf("expected INFO, got %q", line))
	}
	if _, err := c.Write([]byte("CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"silent\"}\r\nPING\r\n")); err != nil {
		return fail(err)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return fail(err)
		}
		switch strings.TrimSpace(line) {
		case "PONG":
			s := &silentConn{conn: c, Pong: time.Now()}
			c.SetDeadline(time.Time{})
			return s, nil
		case "+OK":
		default:
			if strings.HasPrefix(line, "-ERR") {
				return fail(fmt.Errorf("server said %q", strings.TrimSpace(line)))
			}
		}
	}
}

func (s *silentConn) Close() { s.conn.Close() }
