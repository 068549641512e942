#!/usr/bin/env bash
# Syscalls per request of a running Ferry, by side: the client's
# connections (to Ferry's listener), the upstream's (to the mock), files
# (the access log, the ledger) and the rest. It builds Ferry and
# cmd/benchmock, warms up with wrk, then traces Ferry with strace over a
# bounded wrk run and divides each (side, call, result) count by the
# requests wrk made. Reads that return EAGAIN are counted apart: they are
# the Go netpoller's try-then-park, one each time a goroutine waits for a
# socket. Loopback only; strace slows Ferry several times over, so read
# the counts, not the throughput.
#
#   scripts/syscalls.sh               # passthrough, JSON answers
#   MODE=stream scripts/syscalls.sh   # passthrough, event streams
#   MODE=xlat scripts/syscalls.sh     # Anthropic client -> OpenAI-format upstream
#   MODE=xlatstream scripts/syscalls.sh  # the same, event streams
#   FERRY_BIN=/tmp/ferry-old scripts/syscalls.sh
#
# Needs wrk, curl and strace (and ptrace permission).
set -euo pipefail

MODE=${MODE:-pass}
DUR=${DUR:-3s}
CONNS=${CONNS:-50}
MOCK_PORT=${MOCK_PORT:-19311}
FERRY_PORT=${FERRY_PORT:-19312}
ADMIN_PORT=${ADMIN_PORT:-19313}
KEY=bench-key-0123456789abcdef

for c in wrk strace; do command -v $c >/dev/null || { echo "$c is needed" >&2; exit 1; }; done
. "$(dirname "$0")/benchenv.sh"
model=claude-pass stream=
case $MODE in
pass) ;;
stream) stream='"stream":true,' ;;
xlat) model=claude-xlat ;;
xlatstream) model=claude-xlat stream='"stream":true,' ;;
*) echo "MODE is pass, stream, xlat or xlatstream" >&2; exit 2 ;;
esac
wrk_script "$tmp/req.lua" /v1/messages '{"model":"'$model'","max_tokens":1024,'$stream'"messages":[{"role":"user","content":"Tell me about the weather in San Francisco today."}]}'

start_servers
fp=$ferrypid
wrk -t2 -c"$CONNS" -d1s -s "$tmp/req.lua" http://127.0.0.1:$FERRY_PORT >/dev/null
mkdir "$tmp/tr"
strace -f -ff -yy -qq -p "$fp" -o "$tmp/tr/t" \
	-e trace=read,write,readv,writev,recvfrom,sendto,connect,accept4,close,pread64,pwrite64 & sp=$!
sleep 0.5
n=$(wrk -t2 -c"$CONNS" -d"$DUR" -s "$tmp/req.lua" http://127.0.0.1:$FERRY_PORT | awk '/requests in/{print $1}')
kill -INT "$sp"; wait "$sp" 2>/dev/null || true

echo "mode=$MODE c=$CONNS requests=$n load=$(cut -d' ' -f1-3 /proc/loadavg)"
cat "$tmp"/tr/t.* | awk -v n="$n" -v fport=":$FERRY_PORT->" -v mport="->127.0.0.1:$MOCK_PORT]" -v mp="htons($MOCK_PORT)" '
	!match($0, /^[a-z0-9_]+\(/) { next }
	{
		call = substr($0, 1, RLENGTH - 1)
		side = "other"
		if (index($0, "<TCP:[127.0.0.1" fport)) side = "client"
		else if (index($0, mport) || index($0, mp)) side = "upstream"
		else if ($0 ~ /^[a-z0-9_]+\([0-9]+<\//) side = "file"
		res = ($0 ~ /EAGAIN/) ? "EAGAIN" : "ok"
		count[side "\t" call "\t" res]++
	}
	END { for (k in count) { split(k, f, "\t"); printf "%-9s %-9s %-7s %8d  %5.2f/request\n", f[1], f[2], f[3], count[k], count[k] / n } }' | sort
