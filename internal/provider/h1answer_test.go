package provider

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// Chunks already received come out of one Read (an event stream's events
// that arrived together reach the relay together); a chunk not yet sent is
// not waited for once a Read has data; the trailer is read past, so the
// connection carries the next request.
func TestH1ChunkedReadsBufferedChunks(t *testing.T) {
	more := make(chan struct{})
	u, conns := rawServer(t, func(_ int64, c net.Conn) {
		br := bufio.NewReader(c)
		for i := 0; ; i++ {
			if _, err := readRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"+
				"a\r\ndata: one\n\r\na\r\ndata: two\n\r\n")
			if i == 0 {
				<-more
			}
			io.WriteString(c, "c\r\ndata: three\n\r\n0\r\nX-Checksum: abc\r\n\r\n")
		}
	})
	tr := newH1(t)
	resp, err := post(context.Background(), tr, u, nil, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	got := make(chan string, 1)
	go func() {
		n, _ := resp.Body.Read(buf)
		got <- string(buf[:n])
	}()
	select {
	case s := <-got:
		if s != "data: one\ndata: two\n" {
			t.Errorf("first Read %q, want both chunks already sent", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first Read waited for a chunk not yet sent")
	}
	close(more)
	if rest, err := io.ReadAll(resp.Body); err != nil || string(rest) != "data: three\n" {
		t.Fatalf("rest %q, %v", rest, err)
	}
	resp.Body.Close()

	resp, err = post(context.Background(), tr, u, nil, []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.ReadFull(resp.Body, buf[:len("data: one\ndata: two\ndata: three\n")])
	if err != nil || string(buf[:n]) != "data: one\ndata: two\ndata: three\n" {
		t.Fatalf("second answer %q, %v", buf[:n], err)
	}
	if n, err := resp.Body.Read(buf); n != 0 || err != io.EOF {
		t.Errorf("after the last chunk: %d, %v; want 0, EOF", n, err)
	}
	resp.Body.Close()
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1: the trailer must be read past and the connection kept", n)
	}
}

// A trailer section that does not end within its bound, or a connection
// closed inside it, fails the body rather than reusing the connection.
func TestH1ChunkedBadTrailer(t *testing.T) {
	for name, tail := range map[string]string{
		"too long":  "0\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 1000)+"\r\n", 20) + "\r\n",
		"cut short": "0\r\nX-Checksum: abc\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			u, conns := rawServer(t, func(_ int64, c net.Conn) {
				br := bufio.NewReader(c)
				if _, err := readRequest(br); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"+tail)
			})
			tr := newH1(t)
			resp, err := post(context.Background(), tr, u, nil, []byte(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			if err == nil {
				t.Fatalf("body %q read without error", b)
			}
			resp.Body.Close()
			if _, err := post(context.Background(), tr, u, nil, []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
			if n := conns.Load(); n != 2 {
				t.Errorf("%d connections, want 2: a failed body's connection is not reused", n)
			}
		})
	}
}
