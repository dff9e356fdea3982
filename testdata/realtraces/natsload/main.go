// Command natsload is the client load under which
// testdata/realtraces/nats-server.trace was captured (see the README
// there): four publishers, a subscriber, a request/reply pair whose
// responder sleeps 2ms, and one raw connection that says CONNECT and PING
// and then stays silent.
package main

import (
	"flag"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

func main() {
	url := flag.String("url", "nats://127.0.0.1:4333", "the server")
	dur := flag.Duration("d", 12*time.Second, "how long the load runs")
	flag.Parse()
	// A silent client: connects and never speaks again.
	raw, err := net.Dial("tcp", strings.TrimPrefix(*url, "nats://"))
	if err != nil {
		panic(err)
	}
	buf := make([]byte, 4096)
	raw.Read(buf)
	fmt.Fprintf(raw, "CONNECT {\"verbose\":false}\r\nPING\r\n")
	raw.Read(buf)
	var delivered, sent atomic.Int64
	sub, _ := nats.Connect(*url)
	sub.Subscribe("load.*", func(*nats.Msg) { delivered.Add(1) })
	rep, _ := nats.Connect(*url)
	rep.Subscribe("req", func(m *nats.Msg) { time.Sleep(2 * time.Millisecond); m.Respond([]byte("ok")) })
	deadline := time.Now().Add(*dur)
	var wg sync.WaitGroup
	payload := []byte(strings.Repeat("x", 128))
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			nc, _ := nats.Connect(*url)
			defer nc.Close()
			for time.Now().Before(deadline) {
				nc.Publish(fmt.Sprintf("load.%d", i), payload)
				if sent.Add(1)%1000 == 0 {
					nc.Flush()
				}
			}
		}(i)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		nc, _ := nats.Connect(*url)
		for time.Now().Before(deadline) {
			nc.Request("req", payload, time.Second)
		}
	}()
	wg.Wait()
	fmt.Printf("sent %d delivered %d\n", sent.Load(), delivered.Load())
	raw.Close()
}
