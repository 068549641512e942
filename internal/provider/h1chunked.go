package provider

import (
	"bufio"
	"errors"
	"io"
	"net/http/httputil"
)

// maxTrailer bounds the trailer section read after a chunked body's last
// chunk; its fields are dropped (H1Transport does not expose trailers).
const maxTrailer = 16 << 10

var errTrailerTooLong = errors.New("provider: chunked trailer section too long")

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
