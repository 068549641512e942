package provider

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// FuzzH1Response feeds H1Transport an upstream's answer as raw bytes. It
// must never panic or hang, and whenever both it and net/http's reader
// take an answer whole, and its header lines are well formed (how lenient
// a parser is with broken ones is fasthttp's and net/http's own choice),
// they must agree on its status and body: the framing (Content-Length,
// chunked with look-ahead and trailers, close-delimited) is ours.
//
//	go test -run '^$' -fuzz FuzzH1Response ./internal/provider/
func FuzzH1Response(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\ndata: one\n\r\n0\r\nX-Checksum: abc\r\n\r\n",
		"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 2\r\n\r\n{}",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		wantStatus, wantType, wantBody, wantOK := netHTTPReads(answer)
		tr := newH1(t)
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, s := net.Pipe()
			go func() {
				defer s.Close()
				s.SetDeadline(time.Now().Add(2 * time.Second))
				if _, err := readRequest(bufio.NewReader(s)); err != nil {
					return
				}
				s.Write(answer)
			}()
			return c, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://upstream.test/v1/messages", strings.NewReader(`{}`))
		resp, err := tr.RoundTrip(req)
		if err != nil {
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ctx.Err() != nil {
			t.Fatalf("the answer hung H1Transport: %q", answer)
		}
		if err != nil || !wantOK || !cleanHeaders(answer) {
			return
		}
		if resp.StatusCode != wantStatus || !bytes.Equal(body, wantBody) {
			t.Fatalf("H1Transport read %d %q, net/http %d %q, of %q", resp.StatusCode, body, wantStatus, wantBody, answer)
		}
		if len(wantType) < 2 && strings.Join(resp.Header["Content-Type"], ",") != strings.Join(wantType, ",") {
			t.Fatalf("H1Transport read Content-Type %q, net/http %q, of %q", resp.Header["Content-Type"], wantType, answer)
		}
	})
}

// netHTTPReads is what net/http's client reader makes of answer (status,
// Content-Type values, body), and whether it read it without error.
func netHTTPReads(answer []byte) (int, []string, []byte, bool) {
	req, _ := http.NewRequest("POST", "http://upstream.test/v1/messages", nil)
	br := bufio.NewReader(bytes.NewReader(answer))
	resp, err := http.ReadResponse(br, req)
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp, err = http.ReadResponse(br, req)
	}
	if err != nil {
		return 0, nil, nil, false
	}
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header["Content-Type"], body, err == nil
}

// headerLine is a well-formed header field line (RFC 9110 token, colon).
var headerLine = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[ \t]*[^\r\n]*$")

// cleanHeaders reports whether every header block of answer (interim ones
// too) has a status line and well-formed field lines only, each ending
// in CRLF.
func cleanHeaders(answer []byte) bool {
	rest := string(answer)
	for {
		head, body, ok := strings.Cut(rest, "\r\n\r\n")
		if !ok {
			return false
		}
		lines := strings.Split(head, "\r\n")
		if !statusLineOK([]byte(lines[0] + "\r")) {
			return false
		}
		for _, l := range lines[1:] {
			if !headerLine.MatchString(l) {
				return false
			}
		}
		if lines[0][9] != '1' {
			return true
		}
		rest = body
	}
}
