#!/bin/sh
# samereport.sh OLD NEW OUTDIR INPUT...: runs `wakeshim report` of two
# builds on each INPUT (text, -wide text, -json, -pprof) and compares
# their outputs byte for byte. Prints one line per input, "same" or
# "DIFF FILE...", and exits 1 if any differ. The outputs stay in OUTDIR.
old=$1 new=$2 out=$3
shift 3
status=0
for in in "$@"; do
	name=$(basename "$in" | sed 's/\.[^.]*$//')
	case $in in */testdata/shapes/*) name=shapes-$name ;; */testdata/traces/*) name=traces-$name ;; */realtraces/*) name=real-$name ;; esac
	for b in old new; do
		bin=$old
		[ $b = new ] && bin=$new
		d=$out/$b/$name
		rm -rf "$d" && mkdir -p "$d"
		"$bin" report -q -json "$d/report.json" -pprof "$d" "$in" >"$d/report.txt" 2>"$d/stderr.txt"
		echo "exit $?" >>"$d/stderr.txt"
		"$bin" report -q -wide "$in" >"$d/wide.txt" 2>>"$d/stderr.txt"
	done
	diffs=""
	for f in report.json report.txt wide.txt pending.pb.gz latency.pb.gz roots.pb.gz stderr.txt; do
		cmp -s "$out/old/$name/$f" "$out/new/$name/$f" || diffs="$diffs $f"
	done
	if [ -z "$diffs" ]; then
		echo "same $in"
	else
		echo "DIFF $in:$diffs"
		status=1
	fi
done
exit $status
