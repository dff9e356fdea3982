#!/bin/sh
# rssbench.sh OLD NEW ROUNDS TRACE...: peak RSS (KB) and wall time (s)
# of `wakeshim report` (text and JSON written) and `wakeshim convert`
# (v9 binary written) of two builds on each TRACE, alternating old and
# new, ROUNDS times; one line per run: build mode trace rss_kb wall_s.
old=$1 new=$2 rounds=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for r in $(seq "$rounds"); do
	for t in "$@"; do
		name=$(basename "$t" .trace)
		for b in old new; do
			bin=$old
			[ $b = new ] && bin=$new
			/usr/bin/time -f "$b report $name %M %e" -o "$tmp/t" "$bin" report -q -json "$tmp/r.json" "$t" >"$tmp/r.txt" && cat "$tmp/t"
			/usr/bin/time -f "$b convert $name %M %e" -o "$tmp/t" "$bin" convert -q -o "$tmp/c.bin" "$t" >/dev/null && cat "$tmp/t"
		done
	done
done
