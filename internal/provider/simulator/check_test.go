package simulator

import (
	"fmt"
	"strings"

	"github.com/ferrygw/ferry/internal/sse"
	"github.com/ferrygw/ferry/internal/testkit"
)

// checkStream checks src with testkit.CheckStream (PROTOCOL.md §4), plus
// the simulator's own promises: it never ends in an error event, and it
// sends one ping (when there is a content block), {"type": "ping"} as Anthropic writes it, right after the
// first content_block_start.
func checkStream(src sse.Source) (*testkit.Stream, error) {
	res, err := testkit.CheckStream(src)
	if err != nil {
		return nil, err
	}
	if res.Error != nil {
		return nil, fmt.Errorf("stream ends in error %v", res.Error)
	}
	pings := 0
	for i, name := range res.Names {
		if name != "ping" {
			continue
		}
		pings++
		if i != 2 || res.Names[1] != "content_block_start" {
			return nil, fmt.Errorf("event %d: ping must follow the first content_block_start", i)
		}
	}
	want := 0
	if len(res.Names) > 1 && res.Names[1] == "content_block_start" {
		want = 1
	}
	if frame := "event: ping\ndata: {\"type\": \"ping\"}\n\n"; pings != want || want == 1 && !strings.Contains(res.Raw, frame) {
		return nil, fmt.Errorf("%d pings, want %d frame %q", pings, want, frame)
	}
	return res, nil
}
