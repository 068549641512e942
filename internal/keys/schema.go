package keys

import "github.com/ferrygw/ferry/internal/store"

// Schema is the keys package's tables: the managed keys, a version row the
// caches of every instance poll, and the admin audit log. Append steps;
// never edit a released one.
func Schema() store.Set {
	return store.Set{Name: "keys", Steps: []store.Migration{
		{Version: 1, Name: "gateway_keys", SQL: `
CREATE TABLE gateway_keys (
	id         TEXT    PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	prefix     TEXT    NOT NULL,
	hash       TEXT    NOT NULL UNIQUE,
	prev_hash  TEXT    NOT NULL DEFAULT '',
	prev_until BIGINT  NOT NULL DEFAULT 0,
	role       TEXT    NOT NULL,
	team       TEXT    NOT NULL DEFAULT '',
	tag        TEXT    NOT NULL DEFAULT '',
	models     TEXT    NOT NULL DEFAULT '[]',
	routes     TEXT    NOT NULL DEFAULT '[]',
	limits     TEXT    NOT NULL DEFAULT '{}',
	budgets    TEXT    NOT NULL DEFAULT '[]',
	metadata   TEXT    NOT NULL DEFAULT '{}',
	expires_at BIGINT  NOT NULL DEFAULT 0,
	enabled    INTEGER NOT NULL DEFAULT 1,
	revoked_at BIGINT  NOT NULL DEFAULT 0,
	created_at BIGINT  NOT NULL,
	updated_at BIGINT  NOT NULL
);
CREATE TABLE key_state (id INTEGER PRIMARY KEY, version BIGINT NOT NULL);
INSERT INTO key_state (id, version) VALUES (1, 0)`},
		{Version: 2, Name: "audit_log", SQL: auditLog("INTEGER PRIMARY KEY AUTOINCREMENT"), Postgres: auditLog("BIGSERIAL PRIMARY KEY")},
		// The salts signing secrets derive from (auth.SigningSecret): not
		// secret, useless without hmac.master_secret.
		{Version: 3, Name: "signing_salts", SQL: `
ALTER TABLE gateway_keys ADD COLUMN sign_salt TEXT NOT NULL DEFAULT '';
ALTER TABLE gateway_keys ADD COLUMN prev_sign_salt TEXT NOT NULL DEFAULT ''`},
	}}
}

// auditLog is the audit table's DDL; only the id column differs by engine.
func auditLog(id string) string {
	return `
CREATE TABLE audit_log (
	id     ` + id + `,
	at     BIGINT NOT NULL,
	actor  TEXT   NOT NULL,
	role   TEXT   NOT NULL,
	action TEXT   NOT NULL,
	target TEXT   NOT NULL DEFAULT '',
	remote TEXT   NOT NULL DEFAULT '',
	status INTEGER NOT NULL DEFAULT 0,
	detail TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at)`
}
