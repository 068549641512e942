package app

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/ferrygw/ferry/internal/config"
	"github.com/ferrygw/ferry/internal/console"
)

// chromium finds a headless-capable Chromium: under CI=true its absence
// fails the test (.ci/run installs Debian's chromium), elsewhere it skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found: .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("chromium not found: install it (apt-get install chromium) to run the console's browser test")
	return ""
}

// shotsDir is where screenshots go: FERRY_CONSOLE_SHOTS names a folder
// (docs/img refreshes the README's), else a temporary one.
func shotsDir(t *testing.T) string {
	if d := os.Getenv("FERRY_CONSOLE_SHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// browser starts headless Chromium with a fresh profile and no network
// chatter of its own; the returned context ends with the test.
func browser(t *testing.T, bin string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancel := context.WithTimeout(ctx, 40*time.Second)
	t.Cleanup(func() { cancel(); cancelTab(); cancelAlloc() })
	return ctx
}

// TestConsoleBrowserE2E drives the console in headless Chromium: log in,
// see the request count move after traffic, create and revoke a key, roll
// back a canary, switch to Chinese, with screenshots along the way.
func TestConsoleBrowserE2E(t *testing.T) {
	g := consoleGateway(t)
	admin := "http://" + g.App.AdminAddr()
	shots := shotsDir(t)

	ctx := browser(t, chromium(t))

	shot := func(name string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			// From the top: the sticky header stays where it belongs.
			if _, err := chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)(ctx, tg); err != nil {
				return chromedp.Void{}, err
			}
			png, err := chromedp.FullScreenshot(100)(ctx, tg) // quality 100: PNG
			if err != nil {
				return chromedp.Void{}, err
			}
			return chromedp.Void{}, os.WriteFile(filepath.Join(shots, name), png, 0o644)
		}
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	poll := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(10*time.Second))
	}

	// Log in. The browser is started first, so the first paint of the
	// console is timed on its own.
	run("start the browser", chromedp.Navigate("about:blank"))
	start := time.Now()
	run("open the console", chromedp.Navigate(admin+"/console/"), chromedp.WaitVisible(chromedp.ID("login-key")))
	paint := time.Since(start)
	fcp, _ := chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1`))
	t.Logf("login form visible %v after navigating; first contentful paint at %.0f ms", paint, fcp)
	if paint > time.Second {
		t.Errorf("first paint took %v, want under 1s on loopback", paint)
	}
	run("log in",
		chromedp.SendKeys(chromedp.ID("login-key"), testAdminKey),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#page[data-loaded="overview"]`)))

	// Numbers move after traffic.
	for range 6 {
		if st, _ := call(t, "POST", g.URL+"/v1/messages", clientKey, simBody("sim-1")); st != 200 {
			t.Fatalf("traffic: %d", st)
		}
	}
	run("see the request count move",
		poll(`document.querySelector('#tile-total .value')?.textContent === '6'`),
		poll(`document.querySelector('#tile-p50 .value')?.textContent !== '—'`))
	// Streams over three seconds (the canary route's simulators answer
	// after 60 ms): time to first token appears.
	var wg sync.WaitGroup
	for i := range 24 {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 125 * time.Millisecond)
			body := simBody("canary-1")
			body["stream"] = true
			call(t, "POST", g.URL+"/v1/messages", clientKey, body)
		})
	}
	wg.Wait()
	run("see the budgets on the overview",
		poll(`document.querySelector('#budgets-today [data-budget="sim-monthly"] .bar') !== null`))
	run("see time to first token",
		poll(`document.querySelector('#tile-ttft .value')?.textContent.endsWith(' ms')`),
		poll(`document.querySelector('#tile-total .value')?.textContent === '30'`),
		shot("console-overview.png"))

	// Create a key: it is shown once; then revoke it.
	var secret string
	run("create a key",
		chromedp.Click(chromedp.CSS(`a[data-page="keys"]`)),
		chromedp.WaitVisible(chromedp.ID("key-name")),
		chromedp.SendKeys(chromedp.ID("key-name"), "console-made"),
		chromedp.SendKeys(chromedp.ID("key-team"), "search"),
		chromedp.Click(chromedp.ID("key-create")),
		chromedp.WaitVisible(chromedp.ID("new-key")))
	secret = text("#new-key")
	if !strings.HasPrefix(secret, "fy-") {
		t.Fatalf("the new key shown is %q, want fy-…", secret)
	}
	if st, _ := call(t, "POST", g.URL+"/v1/messages", secret, simBody("sim-1")); st != 200 {
		t.Errorf("the key the console made: %d, want 200", st)
	}
	row := `tr[data-key="console-made"]`
	run("revoke it",
		chromedp.Click(chromedp.CSS(row+" button.revoke")),
		chromedp.Click(chromedp.CSS(row+" button.revoke")),
		poll(`document.querySelector('`+row+` td.status')?.textContent === 'revoked'`))
	time.Sleep(300 * time.Millisecond) // keys_refresh is 100ms on other instances; this one refreshes at once
	if st, _ := call(t, "POST", g.URL+"/v1/messages", secret, simBody("sim-1")); st != 401 {
		t.Errorf("the revoked key: %d, want 401", st)
	}

	// Rotate another: a new key is shown, different from the first.
	run("create a key to rotate",
		chromedp.SendKeys(chromedp.ID("key-name"), "console-rotated"),
		chromedp.Click(chromedp.ID("key-create")),
		poll(`document.querySelector('tr[data-key="console-rotated"]') !== null && document.querySelector('#new-key') !== null`))
	first := text("#new-key")
	rot := `tr[data-key="console-rotated"] button.rotate`
	run("rotate it",
		chromedp.Click(chromedp.CSS(rot)), chromedp.Click(chromedp.CSS(rot)),
		poll(`document.querySelector('#new-key') !== null && document.querySelector('#new-key').textContent !== '`+first+`'`))
	if rotated := text("#new-key"); !strings.HasPrefix(rotated, "fy-") || rotated == first {
		t.Errorf("after rotating, the key shown is %q (before: %q)", rotated, first)
	}

	// The read-only pages render: config with secrets masked, shadow, and
	// usage from the ledger (written a second at a time).
	// A reload through the admin API (refused: this gateway has no config
	// file) shows on the config page as the last reload.
	if st, _ := (&adminGateway{gateway: g, admin: admin}).do(t, "POST", "/admin/reload", testAdminKey); st != http.StatusConflict {
		t.Errorf("POST /admin/reload without a config file: %d, want 409", st)
	}
	run("open config",
		chromedp.Click(chromedp.CSS(`a[data-page="config"]`)),
		poll(`document.querySelector('#config')?.textContent.includes('"admin_key": "***"')`),
		poll(`document.querySelector('#last-reload')?.textContent.includes('admin API') && document.querySelector('#last-reload .pill.bad')?.textContent.startsWith('refused: started without a config file')`))
	if cfg := text("#config"); strings.Contains(cfg, testAdminKey) || strings.Contains(cfg, "sk-relay-secret-2") {
		t.Error("the config page shows a secret")
	}
	run("open shadow and usage",
		chromedp.Click(chromedp.CSS(`a[data-page="shadow"]`)),
		poll(`document.querySelector('#page').dataset.loaded === 'shadow'`),
		chromedp.Click(chromedp.CSS(`a[data-page="usage"]`)),
		poll(`document.querySelector('#page table')?.textContent.includes('sim-1')`),
		// Budget bars from GET /admin/budgets: the provider budget has spent.
		poll(`parseFloat(document.querySelector('#budgets [data-budget="sim-monthly"] .bar > div')?.style.width) > 0`),
		poll(`document.querySelector('#budgets [data-budget="idle-weekly"]')?.textContent.includes('0.00 USD / 10.00 USD')`),
		shot("console-usage.png"))

	// A fallback shows among the recent retries on the upstreams page.
	if st, _ := call(t, "POST", g.URL+"/v1/messages", clientKey, simBody("fallback-1")); st != 200 {
		t.Fatalf("fallback: %d", st)
	}

	// Roll back the canary.
	canaryRow := `tr[data-route="canary-*"][data-target="sim-b"]`
	run("roll back the canary",
		chromedp.Click(chromedp.CSS(`a[data-page="upstreams"]`)),
		chromedp.WaitVisible(chromedp.ID("routes")),
		poll(`document.querySelector('#retries')?.textContent.includes('sim-down@')`),
		poll(`document.querySelector('`+canaryRow+` td.weight')?.textContent === '10'`),
		chromedp.Click(chromedp.CSS(`tr[data-route="canary-*"] button.rollback`)),
		chromedp.Click(chromedp.CSS(`tr[data-route="canary-*"] button.rollback`)),
		poll(`document.querySelector('`+canaryRow+` td.weight')?.textContent === '0'`),
		shot("console-upstreams.png"))
	var routes struct {
		Routes []struct {
			Route   string `json:"route"`
			Targets []struct {
				Name   string `json:"name"`
				Weight int    `json:"weight"`
			} `json:"targets"`
		} `json:"routes"`
	}
	getJSON(t, g, "/admin/routes", testAdminKey, &routes)
	for _, r := range routes.Routes {
		for _, x := range r.Targets {
			if r.Route == "canary-*" && x.Name == "sim-b" && x.Weight != 0 {
				t.Errorf("after the console's rollback the canary's weight is %d, want 0", x.Weight)
			}
		}
	}

	// Switch to Chinese.
	run("switch language", chromedp.Click(chromedp.ID("lang")))
	nav := text(`a[data-page="overview"]`)
	run("see the overview in Chinese",
		chromedp.Click(chromedp.CSS(`a[data-page="overview"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#page[data-loaded="overview"]`)),
		shot("console-overview-zh.png"))
	if nav != "总览" {
		t.Errorf("after switching, the overview tab reads %q, want 总览", nav)
	}
	t.Logf("screenshots in %s", shots)
}

// TestConsoleBrowserOpenAdmin: with neither admin.token nor admin_key (the
// default, allowed on loopback only) the console logs in with no key; a
// browser set to Chinese gets the console in Chinese.
func TestConsoleBrowserOpenAdmin(t *testing.T) {
	ctx := browser(t, chromium(t))
	g := newGateway(t, func(c *config.Config) { c.Admin.Listen = "127.0.0.1:0" })
	// navigator.language follows the emulated Accept-Language.
	if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: "Mozilla/5.0 (ferry test)", AcceptLanguage: "zh-CN"}); err != nil {
		t.Fatal(err)
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate("http://"+g.App.AdminAddr()+"/console/"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#page[data-loaded="overview"]`)),
		chromedp.WaitVisible(chromedp.ID("tile-total")))
	if err != nil {
		t.Fatalf("log in without a key: %v", err)
	}
	if nav, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`a[data-page="overview"]`))); err != nil || nav != "总览" {
		t.Errorf("in a Chinese browser the overview tab reads %q (%v), want 总览", nav, err)
	}
}

// TestConsoleBrowserUsage checks the usage page and today's cost against
// fakes of GET /admin/usage and /admin/alerts in the shape the usage ledger
// answers (internal/usage's Report, internal/alert's deliveries), since
// this gateway has no ledger of its own yet.
func TestConsoleBrowserUsage(t *testing.T) {
	ctx := browser(t, chromium(t))
	report := `{"group_by":["model"],"from":"2026-12-05T00:00:00Z","to":"2026-12-06T00:00:00Z",
		"rows":[{"group":{"model":"claude-sonnet-4-5"},"requests":12,"input_tokens":3400,"output_tokens":560,"cache_read_tokens":1000,"cache_write_tokens":0,"estimated_requests":0,"cost_micros":1234567,"currency":"USD"}],
		"totals":[{"group":{},"requests":12,"input_tokens":3400,"output_tokens":560,"cache_read_tokens":1000,"cache_write_tokens":0,"estimated_requests":0,"cost_micros":1234567,"currency":"USD"}]}`
	alerts := `{"webhooks":[{"name":"ops","kind":"generic","lang":"zh"}],"deliveries":[{"alert":{"kind":"budget","scope":"team","subject":"search",
		"budget":"search-daily","percent":80,"period":"daily","spent_micros":8000000,"limit_micros":10000000,"currency":"CNY","tokens":0,"at":"2026-12-06T05:00:00Z"},
		"webhook":"ops","kind":"generic","ok":true,"attempts":1,"at":"2026-12-06T05:00:01Z"}]}`
	mux := http.NewServeMux()
	mux.Handle("GET /console/", console.Handler("/console/"))
	mux.HandleFunc("GET /admin/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"now":1,"window_seconds":1,"total_requests":12,"total_errors":0,"last_minute":{"t":1,"requests":0,"errors":0,"error_rate":0},"rps":0,"series":[],"in_flight":0,"recent_retries":[]}`))
	})
	mux.HandleFunc("GET /admin/usage", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("format") == "csv" {
			w.Write([]byte("model,requests\nclaude-sonnet-4-5,12\n"))
			return
		}
		w.Write([]byte(report))
	})
	mux.HandleFunc("GET /admin/alerts", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(alerts)) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	poll := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(10*time.Second))
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/console/"),
		chromedp.Click(chromedp.ID("login-submit")),
		poll(`document.querySelector('#page')?.textContent.includes('1.23 USD')`), // today's cost on the overview
		chromedp.Click(chromedp.CSS(`a[data-page="usage"]`)),
		poll(`document.querySelector('#page table')?.textContent.includes('claude-sonnet-4-5')`),
		poll(`document.querySelector('.bar > div')?.style.width === '80%'`), // the budget bar, from the 80% alert
		poll(`document.querySelector('#page')?.textContent.includes('8.00 CNY / 10.00 CNY')`))
	if err != nil {
		t.Fatalf("usage page: %v", err)
	}
	srv.CloseClientConnections()
}
