// Package report renders the analysis of wakeshim records (an
// analyze.Report and its Analyzer) in the forms `wakeshim report` writes:
//
//   - text for a terminal (WriteText): findings, where goroutines wait, who
//     wakes whom, wake-to-run latency, the Ps;
//   - the JSON document (JSON), every field documented in docs/report.md;
//   - pprof profiles (WritePendingProfile, WriteLatencyProfile), for go
//     tool pprof;
//   - one self-contained HTML page (WriteHTML), which works offline.
//
// It is the last stage: the records are read by package records and
// analysed by package analyze; nothing here reads input or decides what is
// worth a finding.
package report
