// Package chserver starts a real ClickHouse server for tests: Debian's
// clickhouse-server binary on free loopback ports, with a generated
// config.xml and users.xml and its data, tmp and log directories in the
// test's temporary directory, stopped when the test ends.
package chserver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Binary is where Debian's clickhouse-server package installs the server.
// The CLICKHOUSE_SERVER environment variable overrides it.
const Binary = "/usr/sbin/clickhouse-server"

// StartTimeout bounds the wait for the server's /ping: generous, as the
// machine is shared and the first start creates the system tables.
const StartTimeout = 90 * time.Second

// Server is a running clickhouse-server.
type Server struct {
	t       testing.TB
	bin     string
	dir     string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	// HTTPPort, TCPPort and InterserverPort are its loopback ports.
	HTTPPort, TCPPort, InterserverPort int
}

// BinaryPath returns the server binary, or "" and the reason it is not
// usable.
func BinaryPath() (string, error) {
	bin := Binary
	if env := os.Getenv("CLICKHOUSE_SERVER"); env != "" {
		bin = env
	}
	if _, err := exec.LookPath(bin); err != nil {
		return "", fmt.Errorf("clickhouse-server not found at %s (%v): install Debian's clickhouse-server (.ci/run does)", bin, err)
	}
	return bin, nil
}

// Start starts a server for the test, or skips the test when the binary is
// missing (fails under CI=true). The server is stopped in t.Cleanup.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := BinaryPath()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	var last error
	for range 3 { // a port taken between choosing and binding: retry with others
		s.HTTPPort = 0
		if last = s.start(); last == nil {
			t.Cleanup(s.Stop)
			return s
		}
	}
	t.Fatalf("clickhouse-server did not start: %v", last)
	return nil
}

// URL returns the server's HTTP interface with database db (none if "").
func (s *Server) URL(db string) string {
	u := fmt.Sprintf("http://127.0.0.1:%d/", s.HTTPPort)
	if db != "" {
		u += "?database=" + db
	}
	return u
}

// Dir is the server's directory (config, data, logs).
func (s *Server) Dir() string { return s.dir }

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

const configXML = `<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>%[1]s/log/clickhouse-server.log</log>
        <errorlog>%[1]s/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>1</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>%[2]d</http_port>
    <tcp_port>%[3]d</tcp_port>
    <interserver_http_port>%[4]d</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <max_connections>256</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>50</max_concurrent_queries>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <mark_cache_size>67108864</mark_cache_size>
    <path>%[1]s/data/</path>
    <tmp_path>%[1]s/tmp/</tmp_path>
    <user_files_path>%[1]s/user_files/</user_files_path>
    <format_schema_path>%[1]s/format_schemas/</format_schema_path>
    <users_config>%[1]s/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
</yandex>
`

const usersXML = `<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
            <use_uncompressed_cache>0</use_uncompressed_cache>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
`

func (s *Server) start() error {
	if s.HTTPPort == 0 {
		ports, err := freePorts(3)
		if err != nil {
			return err
		}
		s.HTTPPort, s.TCPPort, s.InterserverPort = ports[0], ports[1], ports[2]
	}
	for _, d := range []string{"data", "tmp", "log", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(s.dir, d), 0o755); err != nil {
			return err
		}
	}
	conf := filepath.Join(s.dir, "config.xml")
	if err := os.WriteFile(conf, fmt.Appendf(nil, configXML, s.dir, s.HTTPPort, s.TCPPort, s.InterserverPort), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.dir, "users.xml"), []byte(usersXML), 0o644); err != nil {
		return err
	}
	out, err := os.OpenFile(filepath.Join(s.dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, "--config-file="+conf)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return err
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		out.Close()
		close(s.done)
	}()
	if err := s.waitReady(); err != nil {
		s.kill()
		return fmt.Errorf("%w\n%s", err, s.logTail())
	}
	return nil
}

func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/ping", s.HTTPPort)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.HasPrefix(string(body), "Ok.") {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("clickhouse-server exited before answering /ping: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("clickhouse-server did not answer %s within %v", url, StartTimeout)
		case <-tick.C:
		}
	}
}

// logTail returns the end of the server's logs, for a failure message.
func (s *Server) logTail() string {
	var b bytes.Buffer
	for _, n := range []string{"stdout.log", "clickhouse-server.err.log"} {
		data, err := os.ReadFile(filepath.Join(s.dir, "log", n))
		if err != nil || len(data) == 0 {
			continue
		}
		if len(data) > 3000 {
			data = data[len(data)-3000:]
		}
		fmt.Fprintf(&b, "--- %s:\n%s\n", n, data)
	}
	return b.String()
}

func (s *Server) kill() {
	if s.cmd == nil {
		return
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	s.cmd = nil
}

// Stop stops the server (SIGTERM, then SIGKILL after 30s) and waits for
// it to exit. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	s.cmd = nil
}

// Running tells whether the server runs (not stopped by Stop).
func (s *Server) Running() bool { return s.cmd != nil }

// Restart starts the stopped server again on the same ports and data.
func (s *Server) Restart() {
	s.t.Helper()
	if s.cmd != nil {
		s.t.Fatal("chserver: Restart of a running server")
	}
	if err := s.start(); err != nil {
		s.t.Fatalf("clickhouse-server did not restart: %v", err)
	}
}
