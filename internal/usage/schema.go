package usage

import "github.com/ferrygw/ferry/internal/store"

// Schema is the usage package's tables: the ledger and budget spend. Steps
// once released are never edited; add new ones at the end.
var Schema = store.Set{Name: "usage", Steps: []store.Migration{
	{Version: 1, Name: "ledger", SQL: `CREATE TABLE usage_ledger (
	at_us BIGINT NOT NULL,
	request_id TEXT NOT NULL,
	key_name TEXT NOT NULL,
	team TEXT NOT NULL,
	tag TEXT NOT NULL,
	route TEXT NOT NULL,
	provider TEXT NOT NULL,
	node TEXT NOT NULL,
	model TEXT NOT NULL,
	client_model TEXT NOT NULL,
	input_tokens BIGINT NOT NULL,
	output_tokens BIGINT NOT NULL,
	cache_read_tokens BIGINT NOT NULL,
	cache_write_tokens BIGINT NOT NULL,
	estimated INTEGER NOT NULL,
	cost_micros BIGINT NOT NULL,
	currency TEXT NOT NULL,
	latency_us BIGINT NOT NULL,
	ttft_us BIGINT NOT NULL,
	status INTEGER NOT NULL,
	error_type TEXT NOT NULL,
	attempts INTEGER NOT NULL,
	cached INTEGER NOT NULL,
	coalesced INTEGER NOT NULL,
	shadow INTEGER NOT NULL,
	session_id TEXT NOT NULL
);
CREATE INDEX usage_ledger_at ON usage_ledger (at_us)`},
	{Version: 2, Name: "budget_spend", SQL: `CREATE TABLE usage_budget_spend (
	budget TEXT NOT NULL,
	window_key TEXT NOT NULL,
	spent BIGINT NOT NULL,
	reserved BIGINT NOT NULL,
	window_end_us BIGINT NOT NULL,
	PRIMARY KEY (budget, window_key)
)`},
	{Version: 3, Name: "alert_claims", SQL: `CREATE TABLE usage_alert_claims (
	alert_key TEXT PRIMARY KEY,
	until_us BIGINT NOT NULL
)`},
	{Version: 4, Name: "ledger_endpoint", SQL: `ALTER TABLE usage_ledger ADD COLUMN endpoint TEXT NOT NULL DEFAULT ''`},
}}
