package alert

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/usage"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// The worked examples of MONEY-FACTS §1.1 and §1.2, computed independently
// with Python and openssl.
func TestSignatureVectors(t *testing.T) {
	if got := url.QueryEscape(SignDingTalk("this is secret", 1599360473000)); got != "hXZTWifRGHclNuZSKxoXc%2F%2Fsh51SWfVfRIhcdeKs63I%3D" {
		t.Errorf("dingtalk sign = %s", got)
	}
	if got := url.QueryEscape(SignDingTalk("SEC0123456789abcdef", 1700000000000)); got != "TSZbRFUuvaSQaRKUpF970OPCb2%2FLcQAP3wOvwZIzBZk%3D" {
		t.Errorf("dingtalk sign = %s", got)
	}
	if got := SignFeishu("demo", 1599360473); got != "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8=" {
		t.Errorf("feishu sign = %s", got)
	}
}

var testNow = time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)

func budgetAlert() Alert {
	sh := time.FixedZone("CST", 8*3600)
	return Alert{Kind: KindBudget, Scope: "team", Subject: "search", Budget: "search-daily", Percent: 80,
		Period: usage.Daily, Window: usage.Daily.Window(testNow, sh), Spent: 8_000_000, Limit: 10_000_000,
		Currency: usage.CNY, Tokens: 123456, At: testNow}
}

// dingTalkRobot verifies as DingTalk does: the timestamp in ms within an
// hour of its clock, the sign recomputed with its copy of the secret.
func dingTalkRobot(t *testing.T, secret string, got chan<- map[string]any) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		ms, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
		if q.Get("access_token") != "tok" || err != nil || testNow.Sub(time.UnixMilli(ms)).Abs() > time.Hour {
			io.WriteString(w, `{"errcode":310000,"errmsg":"invalid timestamp"}`)
			return
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(q.Get("timestamp") + "\n" + secret))
		if q.Get("sign") != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			io.WriteString(w, `{"errcode":310000,"errmsg":"sign not match"}`)
			return
		}
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		got <- body
		io.WriteString(w, `{"errcode":0,"errmsg":"ok"}`)
	}))
}

// feishuBot verifies as Feishu does: timestamp in seconds in the body, HMAC
// keyed with timestamp+"\n"+secret over nothing.
func feishuBot(t *testing.T, secret string, got chan<- map[string]any) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		ts, _ := body["timestamp"].(string)
		s, err := strconv.ParseInt(ts, 10, 64)
		mac := hmac.New(sha256.New, []byte(ts+"\n"+secret))
		if err != nil || testNow.Sub(time.Unix(s, 0)).Abs() > time.Hour || body["sign"] != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			io.WriteString(w, `{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}`)
			return
		}
		got <- body
		io.WriteString(w, `{"code":0,"msg":"success","data":{}}`)
	}))
}

func newTest(t *testing.T, hooks ...Webhook) (*Notifier, *prometheus.Registry, *[]time.Duration) {
	t.Helper()
	reg := prometheus.NewRegistry()
	var slept []time.Duration
	n, err := New(Options{Webhooks: hooks, Registerer: reg, Now: func() time.Time { return testNow },
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return n, reg, &slept
}

func TestSignedWebhooksVerified(t *testing.T) {
	got := make(chan map[string]any, 4)
	ding := dingTalkRobot(t, "SECabc", got)
	defer ding.Close()
	fei := feishuBot(t, "feisecret", got)
	defer fei.Close()
	n, reg, _ := newTest(t,
		Webhook{Name: "ops-ding", Kind: DingTalk, URL: ding.URL + "/robot/send?access_token=tok", Secret: "SECabc", Lang: LangZH},
		Webhook{Name: "ops-feishu", Kind: Feishu, URL: fei.URL + "/open-apis/bot/v2/hook/x", Secret: "feisecret", Lang: LangEN},
	)
	n.Deliver(context.Background(), budgetAlert())
	d := <-got
	md := d["markdown"].(map[string]any)
	if d["msgtype"] != "markdown" || !strings.Contains(md["text"].(string), "¥8.00 / ¥10.00") || !strings.Contains(md["text"].(string), "令牌 123456") ||
		!strings.Contains(md["title"].(string), "预算告警") || !strings.Contains(md["text"].(string), "日预算，2026-12-06 起") {
		t.Errorf("dingtalk body = %v", d)
	}
	f := <-got
	txt := f["content"].(map[string]any)["text"].(string)
	if f["msg_type"] != "text" || !strings.Contains(txt, "spent ¥8.00 of ¥10.00, 123456 tokens") || !strings.Contains(txt, "daily, period from 2026-12-06") {
		t.Errorf("feishu body = %v", f)
	}
	for _, d := range n.Deliveries() {
		if !d.OK || d.Attempts != 1 {
			t.Errorf("delivery %+v", d)
		}
	}
	if v := value(t, n.sent.WithLabelValues("ops-ding", "ok")); v != 1 {
		t.Errorf("ok deliveries = %v", v)
	}
	mfs, err := reg.Gather()
	if err != nil || len(mfs) == 0 || mfs[0].GetName() != "ferry_alert_deliveries_total" {
		t.Errorf("registry holds %v, %v", mfs, err)
	}
}

func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestWrongSecretIsPermanent(t *testing.T) {
	got := make(chan map[string]any, 1)
	ding := dingTalkRobot(t, "SECright", got)
	defer ding.Close()
	n, _, slept := newTest(t, Webhook{Name: "d", Kind: DingTalk, URL: ding.URL + "/?access_token=tok", Secret: "SECwrong"})
	n.Deliver(context.Background(), budgetAlert())
	d := n.Deliveries()[0]
	if d.OK || d.Attempts != 1 || !strings.Contains(d.Error, "310000") || len(*slept) != 0 {
		t.Errorf("delivery %+v, slept %v: want one attempt, no retry", d, *slept)
	}
	if strings.Contains(d.Error, "tok") {
		t.Errorf("error echoes the URL's token: %s", d.Error)
	}
}

func TestRetriesWithBackoff(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		switch calls {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	n, _, slept := newTest(t, Webhook{Name: "slack", Kind: Slack, URL: srv.URL})
	n.Deliver(context.Background(), budgetAlert())
	d := n.Deliveries()[0]
	if !d.OK || d.Attempts != 3 {
		t.Errorf("delivery %+v", d)
	}
	if want := []time.Duration{2 * time.Second, 4 * time.Second}; len(*slept) != 2 || (*slept)[0] != want[0] || (*slept)[1] != want[1] {
		t.Errorf("backoff %v, want %v", *slept, want)
	}
}

func TestGiveUpAfterAttempts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`)
	}))
	defer srv.Close()
	n, _, slept := newTest(t, Webhook{Name: "d", Kind: DingTalk, URL: srv.URL})
	n.Deliver(context.Background(), budgetAlert())
	if d := n.Deliveries()[0]; d.OK || d.Attempts != 5 || len(*slept) != 4 {
		t.Errorf("delivery %+v, slept %v", d, *slept)
	}
}

func TestSlackAndGenericBodies(t *testing.T) {
	bodies := make(chan []byte, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- b
		if r.URL.Path == "/slack" {
			io.WriteString(w, "ok")
		}
	}))
	defer srv.Close()
	n, _, _ := newTest(t, Webhook{Name: "s", Kind: Slack, URL: srv.URL + "/slack", Lang: LangEN}, Webhook{Name: "g", Kind: Generic, URL: srv.URL + "/g"})
	n.Deliver(context.Background(), budgetAlert())
	var s struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text struct{ Type, Text string }
		} `json:"blocks"`
	}
	if err := json.Unmarshal(<-bodies, &s); err != nil || s.Text == "" || len(s.Blocks) != 1 || s.Blocks[0].Text.Type != "mrkdwn" || !strings.Contains(s.Blocks[0].Text.Text, "80%") {
		t.Errorf("slack body %+v, %v", s, err)
	}
	var g map[string]any
	if err := json.Unmarshal(<-bodies, &g); err != nil || g["kind"] != "budget" || g["spent_micros"] != float64(8_000_000) || g["currency"] != "CNY" || g["text"] == "" {
		t.Errorf("generic body %v, %v", g, err)
	}
	for _, d := range n.Deliveries() {
		if !d.OK {
			t.Errorf("delivery %+v", d)
		}
	}
}

func TestOncePerThresholdPerPeriod(t *testing.T) {
	n, reg, _ := newTest(t)
	ctx := context.Background()
	a := budgetAlert()
	if !n.Notify(ctx, a) {
		t.Fatal("first alert not queued")
	}
	if n.Notify(ctx, a) {
		t.Error("the same threshold in the same period queued twice")
	}
	b := a
	b.Percent = 100
	if !n.Notify(ctx, b) {
		t.Error("the next threshold not queued")
	}
	next := a
	next.Window = usage.Daily.Window(a.Window.End, time.FixedZone("CST", 8*3600))
	if !n.Notify(ctx, next) {
		t.Error("the same threshold in the next period not queued")
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n.Notify(ctx, Alert{Kind: KindCalls, Subject: "late"}) {
		t.Error("queued after Close")
	}
	if v := value(t, n.dropped.WithLabelValues("closed")); v != 4 {
		t.Errorf("dropped closed = %v, want 4 (3 queued, never started, and 1 late)", v)
	}
	_ = reg
}

func TestQueueFullCounted(t *testing.T) {
	n, err := New(Options{Queue: 1, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	a, b := budgetAlert(), budgetAlert()
	b.Subject = "other"
	if !n.Notify(context.Background(), a) || n.Notify(context.Background(), b) {
		t.Fatal("want the first queued and the second refused")
	}
	if v := value(t, n.dropped.WithLabelValues("queue_full")); v != 1 {
		t.Errorf("queue_full = %v", v)
	}
}

func TestStartCloseDrains(t *testing.T) {
	got := make(chan []byte, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	defer srv.Close()
	n, _, _ := newTest(t, Webhook{Name: "g", Kind: Generic, URL: srv.URL})
	for _, s := range []string{"a", "b", "c"} {
		a := budgetAlert()
		a.Subject = s
		n.Notify(context.Background(), a)
	}
	n.Start()
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || len(n.Deliveries()) != 3 {
		t.Errorf("delivered %d, recorded %d; want 3", len(got), len(n.Deliveries()))
	}
}

func TestHandlerHidesSecrets(t *testing.T) {
	n, _, _ := newTest(t, Webhook{Name: "d", Kind: DingTalk, URL: "http://127.0.0.1:1/robot/send?access_token=SECRETTOKEN", Secret: "SECsecret"})
	n.record(Delivery{Alert: budgetAlert(), Webhook: "d", Kind: DingTalk, OK: true, Attempts: 1})
	rec := httptest.NewRecorder()
	n.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/admin/alerts", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `"webhook":"d"`) || strings.Contains(body, "SECRET") || strings.Contains(body, "SECsecret") {
		t.Errorf("GET /admin/alerts = %d %s", rec.Code, body)
	}
}

func TestNewRefuses(t *testing.T) {
	if _, err := New(Options{Webhooks: []Webhook{{Name: "x", Kind: "teams", URL: "http://x"}, {Name: "y", Kind: Slack}}}); err == nil ||
		!strings.Contains(err.Error(), `kind "teams" is unknown`) || !strings.Contains(err.Error(), "webhook 1 (y): no url") {
		t.Errorf("New = %v", err)
	}
}

// A reload's webhooks take the next delivery; a bad list is refused and
// the old one stays.
func TestSetWebhooks(t *testing.T) {
	hits := make(chan string, 4)
	srv := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits <- name
			io.WriteString(w, "ok")
		}))
	}
	a, b := srv("a"), srv("b")
	defer a.Close()
	defer b.Close()
	n, _, _ := newTest(t, Webhook{Name: "a", Kind: Slack, URL: a.URL})
	if err := n.SetWebhooks([]Webhook{{Name: "b", Kind: "pager"}}); err == nil {
		t.Fatal("a webhook of unknown kind without url was accepted")
	}
	if err := n.SetWebhooks([]Webhook{{Name: "b", Kind: Slack, URL: b.URL}}); err != nil {
		t.Fatal(err)
	}
	n.Deliver(context.Background(), budgetAlert())
	if got := <-hits; got != "b" || len(n.Webhooks()) != 1 {
		t.Errorf("delivered to %s, webhooks %v: want b only", got, n.Webhooks())
	}
}
