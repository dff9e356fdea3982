package chserver

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func query(t *testing.T, s *Server, q string) (string, error) {
	t.Helper()
	resp, err := http.Post(s.URL("")+"?query="+url.QueryEscape(q), "text/plain", nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	return string(body), nil
}

// TestStartRestart starts a server, writes a table, stops it, restarts it
// on the same ports and data and reads the table back.
func TestStartRestart(t *testing.T) {
	s := Start(t)
	out, err := query(t, s, "SELECT version()")
	require.NoError(t, err)
	t.Logf("clickhouse-server %s on 127.0.0.1:%d", strings.TrimSpace(out), s.HTTPPort)
	_, err = query(t, s, "CREATE TABLE default.t (x UInt32) ENGINE = MergeTree() ORDER BY x")
	require.NoError(t, err)
	_, err = query(t, s, "INSERT INTO default.t VALUES (1), (2), (3)")
	require.NoError(t, err)

	s.Stop()
	_, err = query(t, s, "SELECT 1")
	assert.Error(t, err, "a stopped server answers")

	s.Restart()
	out, err = query(t, s, "SELECT sum(x) FROM default.t")
	require.NoError(t, err)
	assert.Equal(t, "6\n", out)
}
