// Package testkit holds the helpers Ferry's tests share, so that each
// exists once: a settable clock ([Clock]), a real Redis with a key prefix
// of the test's own ([Redis]), a real PostgreSQL with a schema of the
// test's own ([Postgres]), an Anthropic event-stream checker
// ([CheckStream]) and a txtar golden-file harness ([Golden], rewritten
// with go test -update).
//
// Redis and PostgreSQL are the shared services at 127.0.0.1:6379 and
// 127.0.0.1:5432 (database "test", user "postgres", trust auth). Without
// them a test is skipped, or fails when CI=true.
//
// Only tests import this package (internal/archtest holds it).
package testkit
