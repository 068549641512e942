package sse

import (
	"io"
	"strings"
	"testing"
)

func TestAppendEvent(t *testing.T) {
	tests := []struct {
		name, data string
		nilData    bool
		want       string
		wantData   string // as read back
	}{
		{"message_stop", `{"type":"message_stop"}`, false, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", `{"type":"message_stop"}`},
		{"", "x", false, "data: x\n\n", "x"},
		{"e", "", false, "event: e\ndata: \n\n", ""},
		{"e", "", true, "event: e\ndata: \n\n", ""},
		{"e", "a\nb", false, "event: e\ndata: a\ndata: b\n\n", "a\nb"},
		{"e", "a\r\nb\rc\n", false, "event: e\ndata: a\ndata: b\ndata: c\ndata: \n\n", "a\nb\nc\n"},
		{"e", "\n", false, "event: e\ndata: \ndata: \n\n", "\n"},
		{"e", " leading space", false, "event: e\ndata:  leading space\n\n", " leading space"},
		{"bad\nname", "x", false, "event: bad\ndata: x\n\n", "x"},
	}
	for _, tt := range tests {
		var data []byte
		if !tt.nilData {
			data = []byte(tt.data)
		}
		got := AppendEvent([]byte("prefix"), tt.name, data)
		if string(got) != "prefix"+tt.want {
			t.Errorf("AppendEvent(%q, %q) = %q, want %q", tt.name, tt.data, got[len("prefix"):], tt.want)
			continue
		}
		// It reads back as one event with the same name and data.
		r := NewReader(strings.NewReader(tt.want), 0)
		ev, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		wantName, _, _ := strings.Cut(tt.name, "\n")
		if string(ev.Name) != wantName || (wantName == "") != (ev.Name == nil) || string(ev.Data) != tt.wantData || ev.Data == nil {
			t.Errorf("%q reads back as name %q data %q", tt.want, ev.Name, ev.Data)
		}
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("%q: more than one event: %v", tt.want, err)
		}
	}
}

func TestAppendComment(t *testing.T) {
	tests := []struct{ text, want string }{
		{"ping", ": ping\n\n"},
		{"", ": \n\n"},
		{"a\nb\r\nc", ": a\n: b\n: c\n\n"},
	}
	for _, tt := range tests {
		got := AppendComment(nil, tt.text)
		if string(got) != tt.want {
			t.Errorf("AppendComment(%q) = %q, want %q", tt.text, got, tt.want)
		}
		ev, err := NewReader(strings.NewReader(string(got)), 0).Next()
		if err != nil || ev.Name != nil || ev.Data != nil || string(ev.Raw) != tt.want {
			t.Errorf("%q reads back as %+v, %v", got, ev, err)
		}
	}
}

func TestAppendEventNoAllocs(t *testing.T) {
	dst := make([]byte, 0, 256)
	data := []byte(`{"type":"ping"}`)
	if n := testing.AllocsPerRun(100, func() { dst = AppendEvent(dst[:0], "ping", data) }); n != 0 {
		t.Errorf("AppendEvent into a large enough buffer: %v allocations", n)
	}
}
