#!/usr/bin/env bash
# CPU time per operation of the guard's benchmarks, for a loaded machine
# where wall-clock benchmark figures mean little: the user+sys time of the
# test binary for N+1 iterations minus that for 1, divided by N.
# Usage: bash internal/guard/cpubench.sh   (from the repository root)
set -euo pipefail
bin=$(mktemp)
trap 'rm -f "$bin"' EXIT
go test -c -o "$bin" ./internal/guard/
cpu() { { /usr/bin/time -f "%U %S" "$bin" -test.run '^$' -test.bench "$1" -test.benchtime "$2x" -test.cpu 1 >/dev/null; } 2>&1 | tail -1 | awk '{print $1 + $2}'; }
for spec in 'BenchmarkScan$ 60 1048576' 'BenchmarkRequest2KB/clean 20000 0' 'BenchmarkRequest2KB/match 20000 0' 'BenchmarkAnswerChunk 400000 0'; do
	set -- $spec
	base=$(cpu "$1" 1)
	total=$(cpu "$1" $(($2 + 1)))
	awk -v name="$1" -v a="$base" -v b="$total" -v n="$2" -v bytes="$3" 'BEGIN {
		per = (b - a) / n
		if (bytes > 0) printf "%s: %.1f us/op CPU, %.0f MB/s\n", name, per * 1e6, bytes / per / 1e6
		else printf "%s: %.2f us/op CPU\n", name, per * 1e6
	}'
done
