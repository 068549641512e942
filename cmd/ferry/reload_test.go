//go:build unix

package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferrygw/ferry/internal/app"
	"github.com/ferrygw/ferry/internal/config"
)

func TestSIGHUPReloadsTheConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.yaml")
	conf := func(model string) []byte {
		return []byte("listen: 127.0.0.1:0\nadmin: {listen: \"off\"}\nproviders: [{name: sim, type: simulator}]\nroutes: [{match: " + model + ", targets: [{provider: sim}]}]\n")
	}
	os.WriteFile(path, conf("before-hup"), 0o600)
	env := func(string) (string, bool) { return "", false }
	cfg, err := config.Load(path, env)
	if err != nil {
		t.Fatal(err)
	}
	a := runGateway(t, cfg, app.Options{ConfigPath: path, Env: env})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := reloadOnHangup(ctx, a)
	defer stop()

	ask := func(model string) int {
		resp, err := http.Post("http://"+a.Addr()+"/v1/messages", "application/json",
			strings.NewReader(`{"model":"`+model+`","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if ask("after-hup") == 200 {
		t.Fatal("after-hup answers before the reload")
	}
	os.WriteFile(path, conf("after-hup"), 0o600)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ask("after-hup") != 200; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not reload the config file")
		}
	}
}
