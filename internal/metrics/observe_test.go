package metrics

import "testing"

func TestLabelsFold(t *testing.T) {
	l := NewLabels([]string{"chat", "batch"})
	for _, c := range []struct{ in, want string }{
		{"batch", "batch"}, {"chat", "chat"}, {"", "none"}, {"Batch", "other"}, {"x-random-123", "other"},
	} {
		if got := l.Tag(c.in); got != c.want {
			t.Errorf("Tag(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	var none *Labels
	if got := none.Tag("batch"); got != "other" {
		t.Errorf("nil Labels: Tag = %q, want other", got)
	}
}

func TestModelAndClass(t *testing.T) {
	if got := Model("claude-sonnet-4-5", "claude-sonnet-4-5"); got != "claude-sonnet-4-5" {
		t.Errorf("exact route: %q", got)
	}
	if got := Model("claude-whatever-i-like", "claude-*"); got != "other" {
		t.Errorf("pattern route: %q, want other", got)
	}
	for status, want := range map[int]string{200: "2xx", 404: "4xx", 499: "4xx", 529: "5xx", 0: "xxx", 600: "xxx", 101: "1xx"} {
		if got := Class(status); got != want {
			t.Errorf("Class(%d) = %q, want %q", status, got, want)
		}
	}
}

func BenchmarkLabels(b *testing.B) {
	l := NewLabels([]string{"batch", "chat", "eval", "ops"})
	b.ReportAllocs()
	for b.Loop() {
		_ = l.Tag("eval")
		_ = l.Tag("random")
		_ = Class(200)
		_ = Model("m", "m")
	}
}
