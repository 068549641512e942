package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Webhook kinds.
const (
	DingTalk = "dingtalk"
	Feishu   = "feishu" // also Lark: the same API on open.larksuite.com
	Slack    = "slack"
	Generic  = "generic"
)

// Webhook is one place alerts go.
type Webhook struct {
	Name   string
	Kind   string // dingtalk | feishu | slack | generic
	URL    string // the robot's or hook's URL, with its access token; a secret
	Secret string // dingtalk, feishu: the signing secret (DingTalk's SEC…); empty: unsigned
	Lang   string // zh | en
}

// SignDingTalk is DingTalk's robot signature for timestamp ms: Base64 of
// HMAC-SHA256 keyed with the secret over timestamp + "\n" + secret, not yet
// URL-encoded (open.dingtalk.com/document/orgapp/custom-robot-access).
func SignDingTalk(secret string, ms int64) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ms, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SignFeishu is Feishu's bot signature for timestamp s (seconds): Base64 of
// HMAC-SHA256 keyed with timestamp + "\n" + secret over the empty message
// (open.feishu.cn/document/client-docs/bot-v3/add-custom-bot). Key and
// message are the other way round from DingTalk's.
func SignFeishu(secret string, s int64) string {
	mac := hmac.New(sha256.New, []byte(strconv.FormatInt(s, 10)+"\n"+secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// errPermanent marks a failure retrying cannot fix: a refused signature,
// keyword or IP, a revoked hook, a malformed body.
var errPermanent = errors.New("permanent")

// request builds the HTTP request that delivers a to w at now.
func (w Webhook) request(ctx context.Context, a Alert, now time.Time) (*http.Request, error) {
	target := w.URL
	var body any
	switch w.Kind {
	case DingTalk:
		if w.Secret != "" {
			ms := now.UnixMilli()
			sep := "?"
			if strings.Contains(target, "?") {
				sep = "&"
			}
			target += sep + "timestamp=" + strconv.FormatInt(ms, 10) + "&sign=" + url.QueryEscape(SignDingTalk(w.Secret, ms))
		}
		body = map[string]any{"msgtype": "markdown", "markdown": map[string]string{"title": a.Title(w.Lang), "text": a.Text(w.Lang)}}
	case Feishu:
		m := map[string]any{"msg_type": "text", "content": map[string]string{"text": a.Text(w.Lang)}}
		if w.Secret != "" {
			s := now.Unix()
			m["timestamp"] = strconv.FormatInt(s, 10)
			m["sign"] = SignFeishu(w.Secret, s)
		}
		body = m
	case Slack:
		body = map[string]any{
			"text":   a.Title(w.Lang),
			"blocks": []any{map[string]any{"type": "section", "text": map[string]string{"type": "mrkdwn", "text": a.Text(w.Lang)}}},
		}
	default:
		body = struct {
			Alert
			Title string `json:"title"`
			Text  string `json:"text"`
		}{a, a.Title(w.Lang), a.Text(w.Lang)}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode %s body: %w", w.Kind, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s request: %w", w.Kind, errPermanent)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	return req, nil
}

// send delivers a to w once. A nil error means the receiver accepted it.
// The error never holds the URL, which carries the hook's token.
func (w Webhook) send(ctx context.Context, c *http.Client, a Alert, now time.Time) error {
	req, err := w.request(ctx, a, now)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error's text repeats the URL
		}
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return w.check(resp.StatusCode, body)
}

// check reads a receiver's answer. DingTalk and Feishu answer HTTP 200 with
// a code in the body; Slack answers "ok" or an HTTP error with a plain-text
// reason; a generic receiver any 2xx.
func (w Webhook) check(status int, body []byte) error {
	if status == http.StatusTooManyRequests || status >= 500 {
		return fmt.Errorf("http %d: %s", status, snippet(body))
	}
	if status < 200 || status > 299 {
		return fmt.Errorf("http %d: %s: %w", status, snippet(body), errPermanent)
	}
	switch w.Kind {
	case DingTalk:
		var r struct {
			Code *int   `json:"errcode"`
			Msg  string `json:"errmsg"`
		}
		if json.Unmarshal(body, &r) != nil || r.Code == nil {
			return fmt.Errorf("dingtalk answered %s: %w", snippet(body), errPermanent)
		}
		switch *r.Code {
		case 0:
			return nil
		case 130101: // send too fast, 20 a minute
			return fmt.Errorf("dingtalk errcode %d %s", *r.Code, r.Msg)
		}
		return fmt.Errorf("dingtalk errcode %d %s: %w", *r.Code, r.Msg, errPermanent)
	case Feishu:
		var r struct {
			Code       *int   `json:"code"`
			Msg        string `json:"msg"`
			StatusCode *int   `json:"StatusCode"`
		}
		if json.Unmarshal(body, &r) != nil || (r.Code == nil && r.StatusCode == nil) {
			return fmt.Errorf("feishu answered %s: %w", snippet(body), errPermanent)
		}
		code := r.Code
		if code == nil {
			code = r.StatusCode
		}
		switch *code {
		case 0:
			return nil
		case 11232, 99991400: // frequency limited
			return fmt.Errorf("feishu code %d %s", *code, r.Msg)
		}
		return fmt.Errorf("feishu code %d %s: %w", *code, r.Msg, errPermanent)
	case Slack:
		if strings.TrimSpace(string(body)) != "ok" {
			return fmt.Errorf("slack answered %s: %w", snippet(body), errPermanent)
		}
	}
	return nil
}

func snippet(b []byte) string {
	const n = 200
	if len(b) > n {
		b = b[:n]
	}
	return strconv.Quote(string(b))
}
