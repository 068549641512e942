#!/usr/bin/env bash
# Side-by-side measurement: the same loopback mock upstream called directly
# and through Ferry, with wrk. Prints, per path (passthrough: Anthropic
# client -> Anthropic-format upstream; translated: Anthropic client ->
# OpenAI-compatible upstream), the throughput ratio (through Ferry / direct,
# c=50), Ferry's CPU per request (utime+stime from /proc/PID/stat over the
# c=50 run, divided by the requests), its allocations per request (the
# go_memstats_mallocs_total delta on its admin /metrics), the latency it
# adds at c=1 (p50, p99), and the time to first token it adds to a stream.
# Every figure is the median of ROUNDS runs. Loopback only.
#
# The floor rows (floor-h1, floor-nethttp) measure the same on the
# passthrough path, in the same rounds, for a forwarding proxy with no
# features (benchmock -proxy: net/http's server, then Ferry's H1Transport
# or a tuned net/http Transport as the client; GOGC=200 as Ferry sets
# it): what any proxy costs on this machine, so that a ferry row less its
# floor row is what Ferry's own features cost. In those rows rps_ferry,
# cpu_us/req and allocs/req are the proxy's.
#
#   scripts/bench.sh                  # DUR=5s ROUNDS=3 CONNS=50
#   DUR=10s ROUNDS=5 scripts/bench.sh
#   FERRY_BIN=/tmp/ferry-old scripts/bench.sh   # another build, to compare
#   FLOOR=0 scripts/bench.sh          # no floor rows (FLOOR=h1: that one only)
#
# Needs wrk and curl. The machine's load average is printed with the
# figures: on a shared VM, read them against it.
set -euo pipefail

DUR=${DUR:-5s}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-50}
TTFT_N=${TTFT_N:-300}
MOCK_PORT=${MOCK_PORT:-19301}
FERRY_PORT=${FERRY_PORT:-19302}
ADMIN_PORT=${ADMIN_PORT:-19303}
FLOOR=${FLOOR:-h1 nethttp}
[[ $FLOOR == 0 ]] && FLOOR=
FLOOR_PORT=${FLOOR_PORT:-19304} # and the next one for the second client
KEY=bench-key-0123456789abcdef

command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)" >&2; exit 1; }
. "$(dirname "$0")/benchenv.sh"

body='{"model":"MODEL","max_tokens":1024,"system":"You are a helpful assistant that answers briefly.","messages":[{"role":"user","content":"Tell me about the weather in San Francisco today. Tell me about the weather in San Francisco today. Tell me about the weather in San Francisco today."}]}'
lua() { # lua NAME PATH MODEL: a wrk script posting the request body
	local b=${body//MODEL/$3}
	if [[ $2 == /v1/chat/completions ]]; then b=${b//\"system\":\"You are a helpful assistant that answers briefly.\",/}; fi
	wrk_script "$tmp/$1.lua" "$2" "$b"
}
lua direct-anthropic /v1/messages claude-sonnet-4-5
lua direct-openai /v1/chat/completions gpt-4o
lua ferry-pass /v1/messages claude-pass
lua ferry-xlat /v1/messages claude-xlat

start_servers
port=$FLOOR_PORT
declare -A floorport floorpid
for c in $FLOOR; do
	GOGC=200 "$tmp/benchmock" -listen "127.0.0.1:$port" -proxy "http://127.0.0.1:$MOCK_PORT" -client "$c" & pids+=($!)
	floorport[$c]=$port floorpid[$c]=$!
	for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/metrics" && break; sleep 0.1; done
	port=$((port + 1))
done

hz=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
mallocs() { curl -fs "http://127.0.0.1:$1/metrics" | awk '$1=="go_memstats_mallocs_total"{printf "%d", $2}'; }
ms() { # a wrk duration (12.5us, 1.2ms, 1.01s) in ms
	awk -v v="$1" 'BEGIN{n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n*=1; else if (v ~ /m$/) n*=60000; else if (v ~ /s$/) n*=1000; printf "%.3f", n}'
}
median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

# run NAME URL CONNS PID [METRICS_PORT]: one wrk run; prints "rps requests
# p50ms p99ms cpu_us_per_req mallocs_per_req" (the mallocs of the process
# whose /metrics is on METRICS_PORT, Ferry's admin port by default)
run() {
	local out c0 c1 m0 m1 reqs mport=${5:-$ADMIN_PORT}
	c0=$(cpu "$4"); m0=$(mallocs "$mport")
	out=$(wrk -t"$(( $3 < 2 ? 1 : 2 ))" -c"$3" -d"$DUR" --latency -s "$tmp/$1.lua" "$2")
	c1=$(cpu "$4"); m1=$(mallocs "$mport")
	reqs=$(awk '/requests in/{print $1}' <<<"$out")
	if grep -q "Non-2xx" <<<"$out"; then echo "$1: non-2xx answers" >&2; echo "$out" >&2; exit 1; fi
	awk -v rps="$(awk '/Requests\/sec/{print $2}' <<<"$out")" -v reqs="$reqs" \
		-v p50="$(ms "$(awk '$1=="50%"{print $2}' <<<"$out")")" -v p99="$(ms "$(awk '$1=="99%"{print $2}' <<<"$out")")" \
		-v cpu=$((c1 - c0)) -v hz="$hz" -v m=$((m1 - m0)) \
		'BEGIN{printf "%s %d %s %s %.1f %.1f\n", rps, reqs, p50, p99, cpu*1e6/hz/reqs, m/reqs}'
}
col() { awk -v c="$1" '{print $c}' | median; }

# row LABEL NAME DIRECT: the table's row of NAME's runs against DIRECT's,
# from the files $tmp/NAME.50 (c=CONNS), .1 (c=1) and .t (TTFT)
row() {
	local f=$tmp/$2 d=$tmp/$3 rd rf
	rd=$(col 1 <"$d.50"); rf=$(col 1 <"$f.50")
	printf "%-12s %8.3f %9.0f %9.0f %10s %12s %12s %10.3f %9.3f %9.3f\n" "$1" \
		"$(awk -v a="$rf" -v b="$rd" 'BEGIN{print a/b}')" "$rf" "$rd" \
		"$(col 5 <"$f.50")" "$(col 6 <"$f.50")" "$(col 5 <"$d.50")" \
		"$(awk -v a="$(col 3 <"$f.1")" -v b="$(col 3 <"$d.1")" 'BEGIN{print a-b}')" \
		"$(awk -v a="$(col 4 <"$f.1")" -v b="$(col 4 <"$d.1")" 'BEGIN{print a-b}')" \
		"$(awk -v a="$(col 1 <"$f.t")" -v b="$(col 1 <"$d.t")" 'BEGIN{print (a-b)/1000}')"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; DUR=$DUR ROUNDS=$ROUNDS CONNS=$CONNS"
printf "%-12s %8s %9s %9s %10s %12s %12s %10s %9s %9s\n" path ratio rps_ferry rps_mock cpu_us/req allocs/req mock_cpu_us p50_add_ms p99_add_ms ttft_add_ms
for mode in pass xlat; do
	direct=direct-anthropic fmt=anthropic model=claude-sonnet-4-5
	[[ $mode == xlat ]] && direct=direct-openai fmt=openai model=gpt-4o
	floors=()
	[[ $mode == pass ]] && floors=($FLOOR)
	for n in "direct-$mode" "$mode" "${floors[@]/#/floor-}"; do : >"$tmp/$n.50"; : >"$tmp/$n.1"; : >"$tmp/$n.t"; done
	for _ in $(seq "$ROUNDS"); do
		run "$direct" "http://127.0.0.1:$MOCK_PORT" "$CONNS" "$mockpid" >>"$tmp/direct-$mode.50"
		run "ferry-$mode" "http://127.0.0.1:$FERRY_PORT" "$CONNS" "$ferrypid" >>"$tmp/$mode.50"
		for c in "${floors[@]}"; do
			run "$direct" "http://127.0.0.1:${floorport[$c]}" "$CONNS" "${floorpid[$c]}" "${floorport[$c]}" >>"$tmp/floor-$c.50"
		done
		run "$direct" "http://127.0.0.1:$MOCK_PORT" 1 "$mockpid" >>"$tmp/direct-$mode.1"
		run "ferry-$mode" "http://127.0.0.1:$FERRY_PORT" 1 "$ferrypid" >>"$tmp/$mode.1"
		for c in "${floors[@]}"; do
			run "$direct" "http://127.0.0.1:${floorport[$c]}" 1 "${floorpid[$c]}" "${floorport[$c]}" >>"$tmp/floor-$c.1"
		done
		"$tmp/benchmock" -ttft "http://127.0.0.1:$MOCK_PORT" -format "$fmt" -model "$model" -key x -n "$TTFT_N" >>"$tmp/direct-$mode.t"
		"$tmp/benchmock" -ttft "http://127.0.0.1:$FERRY_PORT" -model "claude-$mode" -key "$KEY" -n "$TTFT_N" >>"$tmp/$mode.t"
		for c in "${floors[@]}"; do
			"$tmp/benchmock" -ttft "http://127.0.0.1:${floorport[$c]}" -format "$fmt" -model "$model" -key x -n "$TTFT_N" >>"$tmp/floor-$c.t"
		done
	done
	row "$mode" "$mode" "direct-$mode"
done
for c in $FLOOR; do row "floor-$c" "floor-$c" direct-pass; done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
