package guard

import (
	"strings"
	"testing"
)

func TestLogRedactor(t *testing.T) {
	r := NewLogRedactor()
	in := `{"messages":[{"content":"id ` + testID + ` key ` + testKey + ` tel ` + testPhone + ` order 202412061234567890"}]}`
	got := r.Redact(in)
	for _, v := range []string{testID, testKey, testPhone} {
		if strings.Contains(got, v) {
			t.Fatalf("%q left in %s", v, got)
		}
	}
	if !strings.Contains(got, "order 202412061234567890") || !strings.Contains(got, "[REDACTED:SECRET]") {
		t.Fatalf("got %s", got)
	}
	if s := "nothing here"; r.Redact(s) != s {
		t.Fatal("changed clean text")
	}
}

func TestLogRedactorRawJSONEscapes(t *testing.T) {
	r := NewLogRedactor()
	in := `{"content":"line\n` + testPhone + `\t` + testID + `\u4e2d` + testPhone + `\n` + testKey + `"}`
	got := r.Redact(in)
	want := `{"content":"line\n[REDACTED:PHONE]\t[REDACTED:ID_CARD]\u4e2d[REDACTED:PHONE]\n[REDACTED:SECRET]"}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
