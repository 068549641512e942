package provider

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"

	"github.com/valyala/fasthttp"
)

// Reading an answer off an H1Transport connection: its header, past
// interim answers, and a chunked body.

// maxTrailer bounds the trailer section read after a chunked body's last
// chunk; its fields are dropped (H1Transport does not expose trailers).
const maxTrailer = 16 << 10

var (
	errStatusLine     = errors.New("provider: malformed status line in the upstream's answer")
	errTooManyInterim = errors.New("provider: too many interim (1xx) answers from the upstream")
	errTrailerTooLong = errors.New("provider: chunked trailer section too long")
)

// maxInterim bounds the interim (1xx) answers read before the answer.
const maxInterim = 10

// readAnswer reads an answer's header into fr, past interim (1xx) ones,
// and sets up its body's stream (none for HEAD, 1xx, 204 and 304). Each
// status line is checked before fasthttp parses it, as net/http would
// (three digits), and must be a real status: fasthttp reads 000 as 200.
func readAnswer(br *bufio.Reader, fr *fasthttp.Response) error {
	code := 0
	for n := 0; ; n++ {
		if line, err := br.Peek(len("HTTP/1.1 200\n")); err == nil && !statusLineOK(line) {
			return fmt.Errorf("%w: %q", errStatusLine, line)
		}
		if err := fr.Header.Read(br); err != nil {
			return err
		}
		if code = fr.StatusCode(); code >= 200 || code == http.StatusSwitchingProtocols {
			break
		}
		if n == maxInterim {
			return errTooManyInterim
		}
	}
	if fr.SkipBody || code < 200 || code == http.StatusNoContent || code == http.StatusNotModified {
		return nil
	}
	return fr.ReadBody(br, 0)
}

// statusLineOK reports whether line, an answer's first 13 bytes, starts
// "HTTP/1.1 NNN" (or 1.0) and a space or line end, NNN from 100 to 599:
// fasthttp reads any other version as 1.0, net/http some as 1.1, and the
// body's framing would differ.
func statusLineOK(line []byte) bool {
	if len(line) < 13 || (string(line[:8]) != "HTTP/1.1" && string(line[:8]) != "HTTP/1.0") || line[8] != ' ' {
		return false
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return false
		}
		code = code*10 + int(c-'0')
	}
	end := line[12]
	return code >= 100 && code <= 599 && (end == ' ' || end == '\r' || end == '\n')
}

// chunkedBody decodes a chunked answer body from its connection's buffered
// reader with net/http's chunk reader, for what fasthttp's stream does not
// do: a Read goes on through the following chunks as long as their headers
// are already buffered, never waiting on the network once it has data.
// An event stream whose events arrived in one read so reaches the SSE
// reader in one Read, and the server relays them in one write
// (provider.Stream's Ready) instead of one write and flush an event.
type chunkedBody struct {
	br   *bufio.Reader
	r    io.Reader
	done bool
}

func newChunkedBody(br *bufio.Reader) *chunkedBody {
	return &chunkedBody{br: br, r: httputil.NewChunkedReader(br)}
}

func (c *chunkedBody) Read(p []byte) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	n, err := c.r.Read(p)
	if err == io.EOF {
		if terr := c.trailer(); terr != nil {
			return n, terr
		}
		c.done = true
	}
	return n, err
}

// trailer reads the trailer section up to its blank line, so that the
// connection is left at the next answer.
func (c *chunkedBody) trailer() error {
	for total := 0; ; {
		line, err := c.br.ReadSlice('\n')
		total += len(line)
		switch {
		case err == io.EOF:
			return io.ErrUnexpectedEOF
		case err == bufio.ErrBufferFull || total > maxTrailer:
			return errTrailerTooLong
		case err != nil:
			return err
		case len(line) == 1 || (len(line) == 2 && line[0] == '\r'):
			return nil
		}
	}
}
