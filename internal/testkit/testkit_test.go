package testkit

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ferrygw/ferry/internal/sse"
)

func TestClock(t *testing.T) {
	c := NewClock()
	if !c.Now().Equal(Epoch) {
		t.Fatalf("Now = %v, want %v", c.Now(), Epoch)
	}
	c.Advance(90 * time.Second)
	if got := c.Since(Epoch); got != 90*time.Second {
		t.Errorf("Since = %v, want 90s", got)
	}
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Set(at)
	if !c.Now().Equal(at) || !NewClockAt(at).Now().Equal(at) {
		t.Errorf("Set/NewClockAt: %v", c.Now())
	}
}

func TestRedisPrefixIsOwnAndCleared(t *testing.T) {
	var c1prefix string
	t.Run("inner", func(t *testing.T) {
		c, prefix := Redis(t)
		_, other := Redis(t)
		if prefix == other || !strings.HasPrefix(prefix, "ferrytest:testredisprefixisownandcleared_inner_") {
			t.Fatalf("prefixes %q and %q", prefix, other)
		}
		if err := c.Set(context.Background(), prefix+"k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		c1prefix = prefix
	})
	c, _ := Redis(t)
	n, err := c.Exists(context.Background(), c1prefix+"k").Result()
	if err != nil || n != 0 {
		t.Errorf("key under the finished test's prefix: exists=%d err=%v, want deleted", n, err)
	}
}

func TestPostgresSchemaIsOwnAndDropped(t *testing.T) {
	var schema string
	t.Run("inner", func(t *testing.T) {
		dsn, s := Postgres(t)
		schema = s
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "CREATE TABLE t (x int)"); err != nil {
			t.Fatal(err)
		}
		var got string
		err = conn.QueryRow(context.Background(), "SELECT table_schema FROM information_schema.tables WHERE table_name = 't'").Scan(&got)
		if err != nil || got != s {
			t.Fatalf("table t is in schema %q (%v), want %q", got, err, s)
		}
	})
	_, _ = Postgres(t) // the service is up; now check the inner schema is gone
	conn, err := pgx.Connect(context.Background(), PostgresURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema).Scan(&n); err != nil || n != 0 {
		t.Errorf("schema %s: count %d (%v), want dropped", schema, n, err)
	}
}

const goodStream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n" +
	"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
	"event: ping\ndata: {\"type\":\"ping\"}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n" +
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
	"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{}}}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\":1}\"}}\n\n" +
	"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n" +
	"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":7}}\n\n" +
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

func check(s string) (*Stream, error) { return CheckStream(sse.NewReader(strings.NewReader(s), 0)) }

func TestCheckStreamAccumulates(t *testing.T) {
	res, err := check(goodStream)
	if err != nil {
		t.Fatal(err)
	}
	content := res.Message["content"].([]any)
	if len(content) != 2 || content[0].(map[string]any)["text"] != "Hi" {
		t.Errorf("content %v", content)
	}
	if in := content[1].(map[string]any)["input"].(map[string]any); in["a"] != 1.0 {
		t.Errorf("tool input %v", in)
	}
	if res.Message["stop_reason"] != "tool_use" || res.Message["usage"].(map[string]any)["output_tokens"] != 7.0 {
		t.Errorf("message %v", res.Message)
	}
	if len(res.Names) != 10 || res.Raw != goodStream {
		t.Errorf("names %v", res.Names)
	}
}

func TestCheckStreamRejects(t *testing.T) {
	cut := func(s, frame string) string { return strings.Replace(s, frame, "", 1) }
	for name, in := range map[string]string{
		"no message_stop":    cut(goodStream, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
		"no message_start":   goodStream[strings.Index(goodStream, "event: content_block_start"):],
		"unclosed block":     cut(goodStream, "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"),
		"wrong delta type":   strings.Replace(goodStream, "text_delta", "input_json_delta", 1),
		"type is not name":   strings.Replace(goodStream, "{\"type\":\"ping\"}", "{\"type\":\"pong\"}", 1),
		"CRLF frame":         strings.Replace(goodStream, "\n\n", "\r\n\r\n", 1),
		"event after stop":   goodStream + "event: ping\ndata: {\"type\":\"ping\"}\n\n",
		"null stop_reason":   strings.Replace(goodStream, "\"stop_reason\":\"tool_use\"", "\"stop_reason\":null", 1),
		"bad tool json":      strings.Replace(goodStream, "{\\\"a\\\":1}", "{\\\"a\\\":", 1),
		"error without text": "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\"}}\n\n",
	} {
		if _, err := check(in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCheckStreamEndsWithError(t *testing.T) {
	in := goodStream[:strings.Index(goodStream, "event: content_block_stop")] +
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
	res, err := check(in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Error["type"] != "overloaded_error" {
		t.Errorf("Error = %v", res.Error)
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }

func TestGoldenCheckAndUpdate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "case.txtar")
	if err := os.WriteFile(path, []byte("notes\n-- in --\nhello\n-- want --\nHELLO\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Run("check", func(t *testing.T) {
		g := LoadGolden(t, path)
		if string(g.Comment()) != "notes\n" || string(g.File("in")) != "hello\n" || g.File("nope") != nil || !g.Has("want") || g.Has("nope") {
			t.Fatalf("parsed %q %q", g.Comment(), g.File("in"))
		}
		g.Check(t, "want", []byte("HELLO"))
		r := &recorder{TB: t}
		g.Check(r, "want", []byte("HELLO!"))
		if !r.failed {
			t.Error("a differing output passed")
		}
	})
	t.Run("update", func(t *testing.T) {
		*update = true
		defer func() { *update = false }()
		t.Run("inner", func(t *testing.T) {
			g := LoadGolden(t, path)
			g.Check(t, "want", []byte("HOLA\n"))
			g.Check(t, "extra", []byte("x\n"))
		})
		b, _ := os.ReadFile(path)
		if want := "notes\n-- in --\nhello\n-- want --\nHOLA\n-- extra --\nx\n"; string(b) != want {
			t.Errorf("rewritten file %q, want %q", b, want)
		}
	})
	if files := GoldenFiles(t, filepath.Join(filepath.Dir(path), "*.txtar")); len(files) != 1 {
		t.Errorf("GoldenFiles = %v", files)
	}
}

// serviceRecorder is a testing.TB that records Fatalf and Skipf instead of
// ending the test.
type serviceRecorder struct {
	testing.TB
	fatal, skipped bool
}

func (r *serviceRecorder) Fatalf(string, ...any) { r.fatal = true }
func (r *serviceRecorder) Skipf(string, ...any)  { r.skipped = true }

// TestMissingServiceFailsUnderCI: CI=true turns a missing service into a
// failure; elsewhere the test skips.
func TestMissingServiceFailsUnderCI(t *testing.T) {
	down := errors.New("connection refused")
	t.Setenv("CI", "true")
	ci := &serviceRecorder{TB: t}
	unavailable(ci, "redis", down)
	t.Setenv("CI", "")
	local := &serviceRecorder{TB: t}
	unavailable(local, "redis", down)
	if !ci.fatal || ci.skipped || local.fatal || !local.skipped {
		t.Errorf("CI: fatal %v skipped %v; local: fatal %v skipped %v", ci.fatal, ci.skipped, local.fatal, local.skipped)
	}
}

func TestClosedAddrRefuses(t *testing.T) {
	addr := ClosedAddr(t)
	if conn, err := net.Dial("tcp", addr); err == nil {
		conn.Close()
		t.Fatalf("dial %s succeeded, want refused", addr)
	}
}

func TestCheckStreamRules(t *testing.T) {
	exactGood := strings.Replace(goodStream, `"usage":{"output_tokens":7}`, `"usage":{"input_tokens":3,"cache_read_input_tokens":0,"output_tokens":7}`, 1)
	upstreamTool := strings.Replace(exactGood, `"id":"toolu_1","name":"f"`, `"id":"call_1","name":""`, 1)
	cutArgs := strings.Replace(exactGood, "{\\\"a\\\":1}", "{\\\"a\\\":", 1)
	partial := exactGood[:strings.Index(exactGood, "event: content_block_stop")]
	for _, tc := range []struct {
		name  string
		in    string
		rules StreamRules
		ok    bool
	}{
		{"exact: a good stream", exactGood, StreamRules{Exact: true}, true},
		{"exact: usage without input_tokens", goodStream, StreamRules{Exact: true}, false},
		{"exact: empty text delta", strings.Replace(exactGood, `"text":"Hi"`, `"text":""`, 1), StreamRules{Exact: true}, false},
		{"exact: unknown stop_reason", strings.Replace(exactGood, `"stop_reason":"tool_use"`, `"stop_reason":"done"`, 1), StreamRules{Exact: true}, false},
		{"exact: stop_sequence without one", strings.Replace(exactGood, `"stop_reason":"tool_use"`, `"stop_reason":"stop_sequence"`, 1), StreamRules{Exact: true}, false},
		{"loose: empty text delta passes", strings.Replace(goodStream, `"text":"Hi"`, `"text":""`, 1), StreamRules{}, true},
		{"partial: a cut stream passes", partial, StreamRules{Partial: true}, true},
		{"whole: a cut stream fails", partial, StreamRules{}, false},
		{"partial: still checked", strings.Replace(partial, "text_delta", "input_json_delta", 1), StreamRules{Partial: true}, false},
		{"upstream tools: any id, no name", upstreamTool, StreamRules{UpstreamTools: true}, true},
		{"own tools: any id fails", upstreamTool, StreamRules{}, false},
		{"upstream tools: cut arguments pass", cutArgs, StreamRules{UpstreamTools: true}, true},
	} {
		_, err := CheckStreamRules(sse.NewReader(strings.NewReader(tc.in), 0), tc.rules)
		if (err == nil) != tc.ok {
			t.Errorf("%s: error %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
