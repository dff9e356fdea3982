package fleet

import (
	"context"
	"fmt"
	"strings"
)

// The schema, created if missing. Every statement is accepted by
// ClickHouse 18.16 (Debian's clickhouse-server) and by current releases:
// MergeTree with the PARTITION BY / ORDER BY syntax, plain types (no
// Nullable, no LowCardinality, no DateTime64, no TTL, no CODEC), DateTime
// in seconds beside the nanoseconds as Int64. docs/fleet.md explains each
// table.
//
// Every row of the data tables carries the load that shipped it
// (load_id: one `wakeshim ship`) and its batch in that load; a load is
// committed by its rows in files, written last. Queries read committed
// loads only (committed below), so that a load cut short by an outage
// leaves no visible rows, and a file already in files is not shipped
// again.
var tables = []struct{ name, ddl string }{
	{"files", `(
	service String, instance String,
	file_id String, -- hex SHA-256 of the file's bytes
	load_id String,
	path String, kind String, bytes Int64, records Int64, pending_records Int64,
	start_ns Int64, span_ns Int64, -- the load's time line, on the wall clock
	shipped DateTime
) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(shipped) ORDER BY (service, instance, file_id)`},
	{"wakes", `(
	service String, instance String, load_id String, batch UInt32,
	time DateTime, ts_ns Int64,
	process UInt32, waker UInt32, woken UInt32,
	waker_name String, woken_name String,
	worker UInt8,
	has_latency UInt8, latency_us UInt32 -- wake to run; the first wake since the goroutine last ran has it
) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (service, instance, time)`},
	{"pending", `(
	service String, instance String, load_id String, batch UInt32,
	time DateTime, ts_ns Int64, -- the block's start
	last_ns Int64, -- its last record
	duration_ns Int64,
	process UInt32, task UInt32,
	stack_id UInt64, reason String,
	woken UInt8, waker UInt32, waker_name String,
	still_blocked UInt8
) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (service, instance, time)`},
	{"stacks", `(
	stack_id UInt64, -- the first 8 bytes of the SHA-256 of reason and frames
	reason String, frames Array(String),
	time DateTime
) ENGINE = ReplacingMergeTree() ORDER BY stack_id`},
	{"spawns", `(
	service String, instance String, load_id String, batch UInt32,
	time DateTime, ts_ns Int64,
	process UInt32, task UInt32, location String
) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (service, instance, time)`},
	{"verdicts", `(
	service String, instance String, load_id String, batch UInt32,
	time DateTime, ts_ns Int64, -- the end of the run: "at the end"
	process UInt32, proc String, -- the process run in the load, its PROG-PID ("" for other files)
	task UInt32,
	name String, func String, created_at String,
	stack_id UInt64, reason String, -- the wait reason as a goroutine dump spells it
	since_ns Int64, blocked_ns Int64,
	verdict String, severity String, evidence Array(String),
	woken_here UInt32, wakes Int64, spawned UInt8, cycle Array(UInt32),
	proof_file String, proof_form String, proof_matched_by String, proof_state String
) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (service, instance, time)`},
	{"verdict_runs", `(
	service String, instance String, load_id String, batch UInt32,
	time DateTime, ts_ns Int64, -- the end of the run
	process UInt32, proc String,
	blocked UInt32, -- its rows in verdicts
	leak_files Array(String), leak_named UInt32, leak_matched UInt32
) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (service, instance, time)`},
	{"findings", `(
	service String, instance String, load_id String, batch UInt32,
	time DateTime, ts_ns Int64, -- the finding's time (herd: the burst; slow_wake: the longest; queue: the end of the run)
	process UInt32, proc String, -- the process run that time falls in, its PROG-PID ("" for other files)
	from_ns Int64, end_ns Int64, -- the time line the load's analysis read (supersedes a load it covers)
	kind String, severity String,
	key String, -- groups a finding across instances: herd, pause_release the waker's name; queue the stack id; slow_wake ""
	name String, -- what the text names: the waker, the stack's leaf function
	text String,
	task UInt32, woken Int64, count Int64, total_ns Int64, max_ns Int64,
	behind Int64, free Int64, pause Int64, all_busy Int64, over_10x Int64, wakes Int64,
	numbers String -- the finding's numbers, JSON
) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (service, instance, time)`},
	{"pauses", `(
	service String, instance String, load_id String, batch UInt32,
	time DateTime, ts_ns Int64, -- the pause's start
	process UInt32, proc String,
	duration_ns Int64, reason String
) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (service, instance, time)`},
	{"chain_roots", `(
	service String, instance String, load_id String, batch UInt32,
	time DateTime, ts_ns Int64, -- the end of the load's run
	from_ns Int64, end_ns Int64, -- the time line the load's analysis read (supersedes a load it covers)
	stack_id UInt64, reason String, -- the wait group, as pending's
	kind String, func String, -- the root: cpu (func: the entry function of the goroutine that ran), network, syscall, timer, scheduler, unknown
	ns Int64, waits Int64, max_ns Int64, -- the group's waiting time it caused, the waits it had a share of, its largest share of one
	group_waits Int64 -- the group's waits walked in the load (the same on each of the group's rows)
) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (service, instance, time)`},
	{"chains", `(
	service String, instance String, load_id String, batch UInt32,
	time DateTime, ts_ns Int64, -- the wait's start
	process UInt32, proc String,
	from_ns Int64, end_ns Int64,
	task UInt32, name String, stack_id UInt64, reason String,
	wait_ns Int64, waker UInt32, waker_name String, truncated UInt8,
	roots Array(String), root_ns Array(Int64), -- kind, func of each root; its ns
	link_n Array(Int64), -- 9 a link: depth, task, start_ns, end_ns, share_ns, worker, stack_id (its bits), waker, queue_max
	link_s Array(String) -- 5 a link: kind, name, reason, waker_name, note
) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (service, instance, time)`},
	{"workers", `(
	service String, instance String, load_id String, batch UInt32,
	time DateTime, ts_ns Int64, -- the end of the load's run
	from_ns Int64, end_ns Int64,
	worker UInt32, busy_ns Int64, parked_ns Int64, polls Int64,
	span_ns Int64 -- the load's time line
) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (service, instance, time)`},
	{"timelines", `(
	service String, instance String, load_id String, batch UInt32,
	time DateTime, ts_ns Int64, -- the window's start
	window_end_ns Int64, -- its end
	process UInt32, proc String, -- the process run the window starts in, its PROG-PID
	from_ns Int64, end_ns Int64, -- the time line the load's analysis read (supersedes a load it covers)
	wakes Int64, -- the wakes in the window (all of them, also past the 5000 kept)
	truncated UInt8,
	poll_n Array(Int64), -- 4 a poll: worker, start_ns, end_ns (wall clock), task
	poll_s Array(String), -- the poll's goroutine name
	wake_n Array(Int64), -- 4 a wake: ts_ns (wall clock), waker task, woken task, target worker
	wake_s Array(String) -- 2 a wake: waker, woken
) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (service, instance, time)`},
	{"profiles", `(
	service String, instance String, load_id String, batch UInt32,
	time DateTime, ts_ns Int64, -- the end of the load's run
	from_ns Int64, end_ns Int64, -- the time line the load's analysis read (supersedes a load it covers)
	profile String, -- latency (wake to run) or roots (the root causes of the wake chains)
	stack_id UInt64, -- the sample's block stack in stacks, its reason the leaf pseudo-frame; 0: frame
	frame String, -- the sample's one pseudo-frame when it has no block: [woken] FUNC, [KIND] FUNC
	label String, -- latency: the waker's name; roots: the root's kind
	count Int64, ns Int64 -- the load's sums: wakes or waits, nanoseconds
) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (service, instance, time)`},
	{"queue", `(
	service String, instance String, load_id String, batch UInt32,
	time DateTime, ts_ns Int64,
	global_q UInt8
) ENGINE = MergeTree() PARTITION BY toYYYYMMDD(time) ORDER BY (service, instance, time)`},
}

// EnsureSchema creates the database and the tables if missing. The
// tables it has are looked up first (system.tables, one request), so that
// a ship makes a request for a missing table only: a CREATE TABLE IF NOT
// EXISTS of every table was 14 requests a load.
func (c *Client) EnsureSchema(ctx context.Context) error {
	if err := c.execNoDB(ctx, "CREATE DATABASE IF NOT EXISTS "+c.Database); err != nil {
		return fmt.Errorf("creating the database: %w", err)
	}
	rows, err := c.Query(ctx, "SELECT name FROM system.tables WHERE database = "+Quote(c.Database))
	if err != nil {
		return fmt.Errorf("listing the tables: %w", err)
	}
	have := map[string]bool{}
	for _, r := range rows {
		have[r[0]] = true
	}
	for _, t := range tables {
		if have[t.name] {
			continue
		}
		if err := c.Exec(ctx, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s %s", c.Database, t.name, t.ddl)); err != nil {
			return fmt.Errorf("creating table %s: %w", t.name, err)
		}
	}
	return nil
}

// Scope selects the rows of a service (and of one instance if Instance is
// set).
type Scope struct {
	Service, Instance string
}

func (s Scope) where() string {
	w := "service = " + Quote(s.Service)
	if s.Instance != "" {
		w += " AND instance = " + Quote(s.Instance)
	}
	return w
}

// committed is the condition selecting a data table's committed rows of
// the scope.
func (c *Client) committed(s Scope) string {
	return fmt.Sprintf("%s AND load_id IN (SELECT load_id FROM %s.files WHERE %s)", s.where(), c.Database, s.where())
}

// Count returns the committed rows of a data table (wakes, pending,
// spawns, queue, verdicts, verdict_runs, findings, pauses, chain_roots,
// chains, workers, profiles, timelines) in the scope.
func (c *Client) Count(ctx context.Context, table string, s Scope) (int64, error) {
	if !identRE().MatchString(table) {
		return 0, fmt.Errorf("fleet: bad table name %q", table)
	}
	q := fmt.Sprintf("SELECT count() FROM %s.%s WHERE %s", c.Database, table, c.committed(s))
	if table == "files" {
		q = fmt.Sprintf("SELECT count() FROM %s.files WHERE %s", c.Database, s.where())
	}
	return c.queryInt(ctx, q)
}

func (c *Client) queryInt(ctx context.Context, q string) (int64, error) {
	rows, err := c.Query(ctx, q)
	if err != nil {
		return 0, err
	}
	if len(rows) != 1 || len(rows[0]) != 1 {
		return 0, fmt.Errorf("clickhouse: %s: want one number, got %d rows", cut(q, 100), len(rows))
	}
	var n int64
	if _, err := fmt.Sscan(strings.TrimSpace(rows[0][0]), &n); err != nil {
		return 0, fmt.Errorf("clickhouse: %s: %q is not a number", cut(q, 100), rows[0][0])
	}
	return n, nil
}
