package analyze

// The JSON document of wakeshim report. Every field is documented in
// docs/report.md; the HTML page reads exactly these names. Times are
// nanoseconds on the run's time line.

// Report is the result of an analysis.
type Report struct {
	Inputs       []Input        `json:"inputs"`
	SpanNS       int64          `json:"span_ns"`
	Records      int64          `json:"records"`
	WakesTotal   int64          `json:"wakes_total"`
	PendingTotal int64          `json:"pending_total"`
	PendingRecs  int64          `json:"pending_reports"`
	Pending      []PendingGroup `json:"pending"`
	Wakes        []WakeEdge     `json:"wakes"`
	Latency      Latency        `json:"latency"`
	Workers      []Worker       `json:"workers"`
	Queue        []QueuePoint   `json:"queue"`
	Findings     []Finding      `json:"findings"`
	// Verdicts judge every goroutine still blocked at the end (verdict.go).
	Verdicts       []Verdict      `json:"verdicts"`
	VerdictSummary VerdictSummary `json:"verdict_summary"`
	Chains         []Chain        `json:"chains"`
	Timeline       Timeline       `json:"timeline"`
	Config         ConfigInfo     `json:"config"`
	Warnings       []string       `json:"warnings"`
	// Pauses is, in a fleet's report (package fleet), the traced
	// programs' stop-the-world pauses. A file's report leaves it out.
	Pauses *Pauses `json:"pauses,omitempty"`
	// WorkersByInstance is, in a fleet's report, the Ps by instance,
	// the busiest share first. A file's report leaves it out.
	WorkersByInstance []WorkerInstance `json:"workers_by_instance,omitempty"`
	// ChainsOf is, in a fleet's report, how many instances shipped
	// chains (Chains are the longest waits over them all).
	ChainsOf int `json:"chains_of_instances,omitempty"`
}

// Pauses is a fleet's stop-the-world pauses: in all, by instance and
// reason (most paused time first), and the longest.
type Pauses struct {
	Count       int64        `json:"count"`
	TotalNS     int64        `json:"total_ns"`
	MaxNS       int64        `json:"max_ns"`
	Instances   int          `json:"instances"`
	OfInstances int          `json:"of_instances"`
	ByInstance  []PauseGroup `json:"by_instance"`
	Longest     []PauseAt    `json:"longest"`
}

// PauseGroup is the pauses of one instance for one reason.
type PauseGroup struct {
	Instance string `json:"instance"`
	Reason   string `json:"reason"`
	Count    int64  `json:"count"`
	TotalNS  int64  `json:"total_ns"`
	MaxNS    int64  `json:"max_ns"`
}

// PauseAt is one pause of an instance.
type PauseAt struct {
	TS         int64  `json:"ts_ns"`
	Instance   string `json:"instance"`
	Reason     string `json:"reason"`
	DurationNS int64  `json:"duration_ns"`
}

// Input is one file read.
type Input struct {
	Path  string `json:"path"`
	Kind  string `json:"kind"`
	Bytes int64  `json:"bytes"`
}

// PendingGroup is the blocks of one wait reason + stack.
type PendingGroup struct {
	Reason       string   `json:"reason"`
	Frames       []string `json:"frames"`
	Count        int      `json:"count"`
	Goroutines   int      `json:"goroutines"`
	TotalNS      int64    `json:"total_ns"`
	P50NS        int64    `json:"p50_ns"`
	P99NS        int64    `json:"p99_ns"`
	MaxNS        int64    `json:"max_ns"`
	StillBlocked int      `json:"still_blocked"`
	Wakers       []Waker  `json:"wakers"`
	// MaxAtOnce is the most goroutines blocked in this group at the same
	// time.
	MaxAtOnce int `json:"max_at_once"`
	// Roots: where the waiting time of the group's ended waits went, by
	// the root of each wait's chain (ChainedNS of it in all).
	Roots     []RootShare `json:"roots"`
	ChainedNS int64       `json:"chained_ns"`
	// ChainedWaits is how many waits were walked.
	ChainedWaits int64 `json:"chained_waits"`

	// A fleet's report (package fleet) says how the group spreads over
	// the instances: OnInstances of the OfInstances have blocks of it,
	// StillBlockedOn a goroutine still blocked in it at the end; and,
	// for a group with goroutines still blocked, its blocks by instance,
	// most still blocked first. A file's report leaves them out.
	OnInstances    int             `json:"on_instances,omitempty"`
	StillBlockedOn int             `json:"still_blocked_on,omitempty"`
	OfInstances    int             `json:"of_instances,omitempty"`
	Instances      []GroupInstance `json:"instances,omitempty"`
}

// GroupInstance is a fleet's pending group on one instance.
type GroupInstance struct {
	Instance     string `json:"instance"`
	Count        int    `json:"count"`
	Goroutines   int    `json:"goroutines"`
	TotalNS      int64  `json:"total_ns"`
	P50NS        int64  `json:"p50_ns"`
	P99NS        int64  `json:"p99_ns"`
	MaxNS        int64  `json:"max_ns"`
	StillBlocked int    `json:"still_blocked"`
}

// Waker is who ended the waits of a group.
type Waker struct {
	Name    string   `json:"name"`
	TaskIDs []uint32 `json:"task_ids"`
	Count   int      `json:"count"`
	// TotalNS is the blocked time these wakes ended.
	TotalNS int64 `json:"total_ns"`
}

// WakeEdge is the wakes from goroutines of one name to those of another.
type WakeEdge struct {
	Waker         string       `json:"waker"`
	Woken         string       `json:"woken"`
	WakerLocation string       `json:"waker_location"`
	WokenLocation string       `json:"woken_location"`
	WakerTasks    int          `json:"waker_tasks"`
	WokenTasks    int          `json:"woken_tasks"`
	Count         int64        `json:"count"`
	Latency       LatencyStats `json:"latency"`
}

// LatencyStats summarises wake-to-run latencies.
type LatencyStats struct {
	Count int64 `json:"count"`
	P50NS int64 `json:"p50_ns"`
	P99NS int64 `json:"p99_ns"`
	MaxNS int64 `json:"max_ns"`
}

// Latency is the wake-to-run latency over all wakes.
type Latency struct {
	LatencyStats
	Histogram []Bucket    `json:"histogram"`
	Worst     []WorstWake `json:"worst"`
	// Instances is, in a fleet's report (package fleet), the latency by
	// instance, most slow wakes first. A file's report leaves it out.
	Instances []LatencyInstance `json:"instances,omitempty"`
}

// LatencyInstance is a fleet's wake-to-run latency on one instance.
type LatencyInstance struct {
	Instance string `json:"instance"`
	// Wakes is its WakeEvents; the LatencyStats those that ran.
	Wakes int64 `json:"wakes"`
	LatencyStats
	// Slow counts the wakes that waited at least the slow-wake threshold
	// to run (whether a P was parked or not); Over10x, ten times that.
	Slow    int64 `json:"slow"`
	Over10x int64 `json:"over_10x"`
}

// Bucket is one histogram bucket: latencies <= LeNS and above the
// previous bucket's bound.
type Bucket struct {
	LeNS  int64 `json:"le_ns"`
	Count int64 `json:"count"`
}

// WorstWake is one of the longest wake-to-run latencies.
type WorstWake struct {
	TS        int64  `json:"ts_ns"`
	Waker     string `json:"waker"`
	Woken     string `json:"woken"`
	Task      uint32 `json:"task_id"`
	LatencyNS int64  `json:"latency_ns"`
}

// Worker is one P.
type Worker struct {
	Worker   int   `json:"worker"`
	BusyNS   int64 `json:"busy_ns"`
	ParkedNS int64 `json:"parked_ns"`
	Polls    int64 `json:"polls"`
	// In a fleet's report (package fleet), the P of that number summed
	// over the instances: SpanNS is the time their records cover (the
	// denominator of the busy share), Instances how many have it. A
	// file's report leaves them out.
	SpanNS    int64 `json:"span_ns,omitempty"`
	Instances int   `json:"instances,omitempty"`
}

// WorkerInstance is a fleet's Ps on one instance: how many, their busy
// and parked time and polls summed, over SpanNS of records.
type WorkerInstance struct {
	Instance string `json:"instance"`
	Ps       int    `json:"ps"`
	BusyNS   int64  `json:"busy_ns"`
	ParkedNS int64  `json:"parked_ns"`
	Polls    int64  `json:"polls"`
	SpanNS   int64  `json:"span_ns"`
}

// QueuePoint is a global run-queue sample.
type QueuePoint struct {
	TS      int64 `json:"ts_ns"`
	GlobalQ int   `json:"global_q"`
}

// Finding is one plain-language line worth a look.
type Finding struct {
	Kind     string           `json:"kind"`
	Severity string           `json:"severity"`
	Text     string           `json:"text"`
	Numbers  map[string]int64 `json:"numbers"`
}

// Timeline is the polls and wakes of one window.
type Timeline struct {
	StartNS   int64          `json:"start_ns"`
	EndNS     int64          `json:"end_ns"`
	Polls     []TimelinePoll `json:"polls"`
	Wakes     []TimelineWake `json:"wakes"`
	Truncated bool           `json:"truncated"`
	// Instance is whose window it is in a fleet's report (package
	// fleet: one load's window); "" for files.
	Instance string `json:"instance,omitempty"`
}

// TimelinePoll is a goroutine running on a P.
type TimelinePoll struct {
	Worker  int    `json:"worker"`
	StartNS int64  `json:"start_ns"`
	EndNS   int64  `json:"end_ns"`
	Task    uint32 `json:"task_id"`
	Name    string `json:"name"`
}

// TimelineWake is one wake.
type TimelineWake struct {
	TS           int64  `json:"ts_ns"`
	Waker        string `json:"waker"`
	Woken        string `json:"woken"`
	WakerTask    uint32 `json:"waker_task_id"`
	WokenTask    uint32 `json:"woken_task_id"`
	TargetWorker int    `json:"target_worker"`
}

// ConfigInfo is the thresholds the findings used.
type ConfigInfo struct {
	StuckNS         int64 `json:"stuck_ns"`
	HerdCount       int   `json:"herd_count"`
	HerdWindowNS    int64 `json:"herd_window_ns"`
	SlowWakeNS      int64 `json:"slow_wake_ns"`
	QueueGoroutines int   `json:"queue_goroutines"`
	WindowStartNS   int64 `json:"window_start_ns"`
	WindowEndNS     int64 `json:"window_end_ns"`
}
