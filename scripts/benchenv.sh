# Sourced by scripts/bench.sh and scripts/syscalls.sh, with MOCK_PORT,
# FERRY_PORT, ADMIN_PORT and KEY set: moves to the repository root, makes
# $tmp (removed on exit, with the processes in pids killed), builds Ferry
# (or copies FERRY_BIN) and cmd/benchmock into it, and writes
# $tmp/ferry.yaml: routes claude-pass to an Anthropic-format upstream and
# claude-xlat to an OpenAI-compatible one, both the mock on MOCK_PORT; the
# SQLite store goes in $tmp too, so builds of other versions compare cleanly.
#
# wrk_script FILE PATH BODY writes a wrk script posting BODY to PATH with
# the bench key; start_servers starts the mock and Ferry (mockpid,
# ferrypid) and waits until both answer.
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

if [[ -n ${FERRY_BIN:-} ]]; then cp "$FERRY_BIN" "$tmp/ferry"; else go build -o "$tmp/ferry" ./cmd/ferry; fi
go build -o "$tmp/benchmock" ./cmd/benchmock

cat >"$tmp/ferry.yaml" <<YAML
listen: 127.0.0.1:$FERRY_PORT
data_dir: $tmp/data
admin:
  listen: 127.0.0.1:$ADMIN_PORT
log:
  level: info
keys:
  - name: bench
    key: $KEY
providers:
  - name: anthropic
    type: anthropic
    base_urls: [http://127.0.0.1:$MOCK_PORT]
    api_key: upstream-key-0123456789
  - name: openai
    type: openai
    profile: vllm
    base_urls: [http://127.0.0.1:$MOCK_PORT/v1]
    api_key: upstream-key-0123456789
routes:
  - match: claude-pass
    targets: [{provider: anthropic, model: claude-sonnet-4-5}]
  - match: claude-xlat
    targets: [{provider: openai, model: gpt-4o}]
YAML

start_servers() {
	"$tmp/benchmock" -listen "127.0.0.1:$MOCK_PORT" & pids+=($!)
	mockpid=$!
	"$tmp/ferry" serve -c "$tmp/ferry.yaml" >/dev/null 2>"$tmp/ferry.err" & pids+=($!)
	ferrypid=$!
	for _ in $(seq 100); do
		curl -fs "http://127.0.0.1:$ADMIN_PORT/metrics" >/dev/null 2>&1 && curl -s -o /dev/null "http://127.0.0.1:$MOCK_PORT/v1/models" && break
		sleep 0.1
	done
}

wrk_script() {
	cat >"$1" <<LUA
wrk.method = "POST"
wrk.path = "$2"
wrk.body = '$3'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Api-Key"] = "$KEY"
wrk.headers["Authorization"] = "Bearer $KEY"
wrk.headers["Anthropic-Version"] = "2023-06-01"
LUA
}
