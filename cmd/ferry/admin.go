package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// adminClient calls the admin API of a running gateway, for ferry keys,
// shadow report and usage.
type adminClient struct {
	admin, token string
	timeout      time.Duration // 0: the caller's context bounds the call
	json         bool          // ferry keys: print the API's JSON
}

func adminBase(admin string) string {
	base := strings.TrimRight(admin, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return base
}

// call sends one request (body, when not nil, as JSON) and returns the
// answer's status and body. Its errors are the listener's being
// unreachable or its answer unreadable; the status is the caller's to read.
func (c *adminClient) call(ctx context.Context, method, path string, q url.Values, body any) (int, []byte, error) {
	base := adminBase(c.admin)
	u := base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("bad --admin %q: %w", c.admin, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, nil, fmt.Errorf("admin API at %s is unreachable: %w (is ferry serve running with admin.listen there?)", base, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("admin API at %s: reading the answer: %w", base, err)
	}
	return resp.StatusCode, raw, nil
}

// fetchAdmin GETs path from the admin API and returns the 200 answer's
// body; what names the listener expected, for the 404 message.
func fetchAdmin(ctx context.Context, admin, token, path, what string, q url.Values) ([]byte, error) {
	status, body, err := (&adminClient{admin: admin, token: token}).call(ctx, http.MethodGet, path, q, nil)
	if err != nil {
		return nil, err
	}
	base := adminBase(admin)
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return nil, fmt.Errorf("admin API at %s refused the request (%d): give the admin token with --token or $%s", base, status, adminTokenEnv)
	case status == http.StatusNotFound:
		return nil, fmt.Errorf("admin API at %s has no %s (404): is this %s?", base, path, what)
	case status != http.StatusOK:
		return nil, fmt.Errorf("admin API at %s answered %d: %s", base, status, snippet(body))
	}
	return body, nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
