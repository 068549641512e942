package sse

import (
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// countingReader counts the reads of r.
type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.reads++
	return c.r.Read(p)
}

// readyInputs are streams with BOM, CR and CRLF endings, comments, blank
// lines, an unnamed field and a cut.
var readyInputs = []string{
	"event: a\ndata: 1\n\nevent: b\ndata: 2\n\n",
	"\xef\xbb\xbfdata: x\r\n\r\n: ping\r\n\r\ndata: y\rdata: z\r\r",
	"\n\ndata: a\n\n\n: only a comment\n\ndata: cut",
	"data: a\ndata: b\n\nid: 1\n\n\n",
}

// Ready never reads, Next after a true Ready does not read either, and
// asking it changes nothing of what Next returns, however the input was
// split into reads.
func TestReady(t *testing.T) {
	for _, in := range readyInputs {
		for name, mk := range readers([]byte(in)) {
			want, wantErr := readAll(NewReader(mk(), 0))
			cr := &countingReader{r: mk()}
			r := newReader(cr, 0, 8)
			var got []event
			var err error
			for {
				n := cr.reads
				ready := r.Ready()
				if cr.reads != n {
					t.Fatalf("%s %q: Ready read the source", name, in)
				}
				var ev Event
				ev, err = r.Next()
				if ready && cr.reads != n {
					t.Fatalf("%s %q: Next read the source after Ready said true", name, in)
				}
				if err != nil {
					break
				}
				got = append(got, copyEvent(ev))
			}
			if diff := cmp.Diff(want, got); diff != "" || err != wantErr {
				t.Errorf("%s %q: with Ready (-without +with):\n%s\nerr %v, want %v", name, in, diff, err, wantErr)
			}
		}
	}
}

// A burst read at once is Ready event after event, and not once it is
// all returned while the source has more to say.
func TestReadyBurst(t *testing.T) {
	pr, pw := io.Pipe()
	go pw.Write([]byte("data: 1\n\ndata: 2\n\ndata: 3\n\n"))
	r := NewReader(pr, 0)
	var ready []bool
	for range 3 {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		ready = append(ready, r.Ready())
	}
	if want := []bool{true, true, false}; !cmp.Equal(ready, want) {
		t.Errorf("Ready after each event %v, want %v", ready, want)
	}
	pw.Close()
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("the end: %v", err)
	}
	if !r.Ready() {
		t.Error("not Ready after the end")
	}
}
