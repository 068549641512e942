package app

// A harness for tests that need real ferry processes (several instances
// sharing a store) or a Redis they can kill:
//
//	procs := startFerries(t, 3, yamlWithoutListeners) // built once, started, ready
//	resp, err := http.Post(procs[0].URL+"/v1/messages", ...)
//	text := procs[1].Metrics(t)                         // the admin listener's /metrics
//	v := metricValue(text, "ferry_x_total", map[string]string{"mode": "fail_open"})
//	addr, kill := startRedis(t)                         // a private redis-server
//	r := startRedisProc(t); r.Freeze(t); r.Thaw(t)      // one to stall (SIGSTOP)
//
// Everything started is stopped when the test ends.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ferryBuild is the ferry binary built for this test run.
var ferryBuild struct {
	once sync.Once
	path string
	err  error
}

// ferryBinary builds ./cmd/ferry and returns the binary's path. Under `go
// test` it is built once per run, next to the test binary in go test's work
// directory, which go test removes when the run ends; a test binary run by
// hand (go test -c) builds into each test's TempDir instead.
func ferryBinary(t testing.TB) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil || !strings.HasPrefix(filepath.Base(filepath.Dir(filepath.Dir(exe))), "go-build") {
		return buildFerry(t, t.TempDir())
	}
	ferryBuild.once.Do(func() {
		dir := filepath.Dir(exe)
		ferryBuild.path, ferryBuild.err = buildFerryInto(dir)
	})
	if ferryBuild.err != nil {
		t.Fatal(ferryBuild.err)
	}
	return ferryBuild.path
}

func buildFerry(t testing.TB, dir string) string {
	t.Helper()
	p, err := buildFerryInto(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func buildFerryInto(dir string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	path := filepath.Join(dir, "ferry")
	cmd := exec.Command(goTool, "build", "-o", path, "./cmd/ferry")
	cmd.Dir = filepath.Join("..", "..") // the module root, from internal/app
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/ferry: %v\n%s", err, out)
	}
	return path, nil
}

// ferryProc is one running ferry process.
type ferryProc struct {
	URL      string // the public listener, http://127.0.0.1:port
	AdminURL string // the admin listener (/metrics)
	Stderr   *syncBuffer

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit, once done
	stop sync.Once
}

// startFerries starts n ferry processes with the config cfg, a YAML file
// without listen or admin (the harness adds both, on free loopback ports),
// and waits until each answers /readyz. They are stopped with SIGTERM when
// the test ends (Stop stops one sooner).
func startFerries(t testing.TB, n int, cfg string) []*ferryProc {
	t.Helper()
	bin := ferryBinary(t)
	procs := make([]*ferryProc, n)
	for i := range procs {
		procs[i] = startFerry(t, bin, cfg, i)
	}
	return procs
}

func startFerry(t testing.TB, bin, cfg string, i int) *ferryProc {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a free port may be taken meanwhile
		pub, adm := freePort(t), freePort(t)
		file := filepath.Join(t.TempDir(), fmt.Sprintf("ferry-%d.yaml", i))
		full := fmt.Sprintf("listen: 127.0.0.1:%d\nadmin:\n  listen: 127.0.0.1:%d\n", pub, adm) + cfg
		if err := os.WriteFile(file, []byte(full), 0o600); err != nil {
			t.Fatal(err)
		}
		p := &ferryProc{
			URL:      fmt.Sprintf("http://127.0.0.1:%d", pub),
			AdminURL: fmt.Sprintf("http://127.0.0.1:%d", adm),
			Stderr:   &syncBuffer{},
			done:     make(chan struct{}),
		}
		p.cmd = exec.Command(bin, "serve", "--config", file)
		p.cmd.Dir = t.TempDir() // its ./ferry-data (the default data_dir) lands there
		p.cmd.Stdout, p.cmd.Stderr = p.Stderr, p.Stderr
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			p.err = p.cmd.Wait()
			close(p.done)
		}()
		t.Cleanup(func() {
			p.Stop(t)
			// A process's log, like an in-process gateway's, never holds
			// a key or a detected value.
			logs := p.Stderr.String()
			assertLogsClean(t, logs)
			for _, k := range []string{multiKeyA, multiKeyB} {
				if strings.Contains(logs, k) {
					t.Errorf("ferry %d's log holds a gateway key", i)
				}
			}
		})
		if lastErr = p.waitReady(15 * time.Second); lastErr == nil {
			return p
		}
		p.abandon()
	}
	t.Fatalf("ferry %d did not start: %v", i, lastErr)
	return nil
}

// waitReady polls /readyz until it answers 200, the process exits, or the
// time is up.
func (p *ferryProc) waitReady(limit time.Duration) error {
	hc := &http.Client{Timeout: time.Second}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("exited (%v):\n%s", p.err, p.Stderr.String())
		default:
		}
		if resp, err := hc.Get(p.URL + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not ready after %v:\n%s", limit, p.Stderr.String())
}

// Stop sends SIGTERM and waits for the process to exit (SIGKILL after
// 15 s). A process that exited with an error fails the test, with its log.
func (p *ferryProc) Stop(t testing.TB) {
	p.stop.Do(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(15 * time.Second):
				p.cmd.Process.Kill()
				<-p.done
				t.Errorf("ferry %s did not stop on SIGTERM:\n%s", p.URL, p.Stderr.String())
				return
			}
		}
		if p.err != nil {
			t.Errorf("ferry %s exited with %v:\n%s", p.URL, p.err, p.Stderr.String())
		}
	})
}

// abandon kills a process that failed to start, without reporting it.
func (p *ferryProc) abandon() {
	p.stop.Do(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
}

// Metrics reads the process's /metrics.
func (p *ferryProc) Metrics(t testing.TB) string {
	t.Helper()
	resp, err := http.Get(p.AdminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

// metricValue is the value of the series of name whose labels include
// every pair in labels, summed over the series that match; 0 when none
// does. text is the Prometheus text format.
func metricValue(text, name string, labels map[string]string) float64 {
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || strings.HasPrefix(line, "#") {
			continue
		}
		rest := line[len(name):]
		var lbls string
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.Index(rest, "} ")
			if end < 0 {
				continue
			}
			lbls, rest = rest[1:end], rest[end+2:]
		case strings.HasPrefix(rest, " "):
			rest = rest[1:]
		default:
			continue // another metric whose name starts with name
		}
		ok := true
		for k, v := range labels {
			if !strings.Contains(","+lbls+",", ","+k+"="+strconv.Quote(v)+",") {
				ok = false
			}
		}
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(strings.Fields(rest)[0], 64); err == nil {
			sum += f
		}
	}
	return sum
}

// freePort is a loopback TCP port nothing listens on (at the moment).
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// redisServer is where startRedis finds the server.
const redisServer = "/usr/bin/redis-server"

// startRedis starts a private, empty redis-server on a free loopback port
// (no persistence) and returns its address and a kill function (SIGKILL,
// idempotent; also run when the test ends). Without the binary the test is
// skipped, or fails under CI=true.
func startRedis(t testing.TB) (addr string, kill func()) {
	t.Helper()
	r := startRedisProc(t)
	return r.Addr, r.Kill
}

// redisProc is a private redis-server that a test can kill, or freeze and
// thaw (SIGSTOP, SIGCONT: a stalled Redis, as clients see one under load,
// which accepts connections and answers nothing).
type redisProc struct {
	Addr string
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// Kill ends the server with SIGKILL; idempotent.
func (r *redisProc) Kill() {
	r.once.Do(func() {
		r.cmd.Process.Kill()
		<-r.done
	})
}

// Freeze stops the server (SIGSTOP) until Thaw, and waits (up to a
// second) for the kernel to show it stopped: what is sent after Freeze
// waits for Thaw.
func (r *redisProc) Freeze(t testing.TB) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP redis-server: %v", err)
	}
	stat := fmt.Sprintf("/proc/%d/stat", r.cmd.Process.Pid)
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(stat)
		if err != nil {
			return // not Linux: the signal is all there is
		}
		// pid (comm) state ...: the state follows the last ')'.
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) && b[i+2] == 'T' {
			return
		}
	}
}

// Thaw resumes a frozen server (SIGCONT).
func (r *redisProc) Thaw(t testing.TB) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("SIGCONT redis-server: %v", err)
	}
}

// startRedisProc is startRedis, returning the server's handle.
func startRedisProc(t testing.TB) *redisProc {
	t.Helper()
	if _, err := os.Stat(redisServer); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v", redisServer, err)
		}
		t.Skipf("no %s: %v", redisServer, err)
	}
	port := freePort(t)
	r := &redisProc{Addr: fmt.Sprintf("127.0.0.1:%d", port), done: make(chan struct{})}
	r.cmd = exec.Command(redisServer, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--loglevel", "warning")
	out := &syncBuffer{}
	r.cmd.Stdout, r.cmd.Stderr = out, out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	t.Cleanup(r.Kill) // SIGKILL ends a stopped process too
	deadline := time.Now().Add(10 * time.Second)
	for {
		if pingRedis(r.Addr) {
			return r
		}
		select {
		case <-r.done:
			t.Fatalf("redis-server exited:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s not answering:\n%s", r.Addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pingRedis reports whether a Redis answers PING at addr.
func pingRedis(addr string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}
