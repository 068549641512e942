package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/store"
)

// TestLedgerLosesNoRowOnSIGTERM runs a real ferry process under load,
// sends it SIGTERM mid-load, and counts: every request answered 200 is in
// the ledger (loss = 0 rows).
func TestLedgerLosesNoRowOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	cfg := fmt.Sprintf(`data_dir: %s
providers:
  - name: sim
    type: simulator
    simulator:
      text: ok
      first_token: 20ms
routes:
  - match: "*"
    targets: [{provider: sim}]
usage:
  prices:
    - {model: sim-1, currency: CNY, input: "1", output: "1"}
`, dir)
	p := startFerries(t, 1, cfg)[0]
	var ok, sent atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				resp, err := hc.Post(p.URL+"/v1/messages", "application/json",
					strings.NewReader(`{"model":"sim-1","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`))
				if err != nil {
					continue
				}
				_, rerr := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && rerr == nil {
					ok.Add(1)
				}
			}
		})
	}
	time.Sleep(400 * time.Millisecond)
	p.Stop(t) // SIGTERM mid-load; waits for the exit
	close(stop)
	wg.Wait()
	st, err := store.Open(context.Background(), store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var rows int64
	if err := st.QueryRow(context.Background(), nil, `SELECT COUNT(*) FROM usage_ledger WHERE status = 200`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if ok.Load() == 0 || rows != ok.Load() {
		t.Errorf("client got %d answers (of %d sent); the ledger has %d rows with status 200: want equal", ok.Load(), sent.Load(), rows)
	}
	t.Logf("%d requests answered 200 before and during SIGTERM, %d ledger rows", ok.Load(), rows)
}
