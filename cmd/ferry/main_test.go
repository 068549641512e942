package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ferrygw/ferry/internal/config"
)

// run executes the root command with args and returns what it printed.
func run(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	}
	root := newRoot(&out, &errb, lookup)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errb.String(), err
}

// writeConfig writes a config file into a fresh temp dir and returns its path.
func writeConfig(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

const validConfig = `listen: ${FERRY_TEST_LISTEN}
admin:
  listen: "off"
providers:
  - name: sim
    type: simulator
routes:
  - match: "*"
    targets:
      - provider: sim
`

// badConfig has an unknown key (line 7) and a route to an undefined
// provider (line 12).
const badConfig = `listen: 127.0.0.1:0
admin:
  listen: "off"
providers:
  - name: sim
    type: simulator
    colour: blue
routes:
  - match: "*"
    targets:
      - provider: sim
      - provider: nope
`

func badConfigProblems(path string) []string {
	return []string{
		path + ":7: providers[0].colour: unknown field",
		path + `:12: routes[0].targets[1].provider "nope" is not defined`,
	}
}

const openConfig = `listen: 0.0.0.0:0
admin:
  listen: "off"
providers:
  - name: sim
    type: simulator
routes:
  - match: "*"
    targets:
      - provider: sim
`

func TestVersion(t *testing.T) {
	t.Run("build info", func(t *testing.T) {
		stdout, stderr, err := run(t, nil, "version")
		if err != nil {
			t.Fatalf("version: %v", err)
		}
		got := lines(stdout)
		if len(got) != 1 || !strings.HasPrefix(got[0], "ferry ") || strings.TrimSpace(strings.TrimPrefix(got[0], "ferry ")) == "" {
			t.Errorf("version printed %q, want one line \"ferry <version>\"", stdout)
		}
		if stderr != "" {
			t.Errorf("version wrote to stderr: %q", stderr)
		}
	})
	t.Run("ldflags version", func(t *testing.T) {
		oldV, oldC, oldD := version, commit, date
		version, commit, date = "v9.8.7", "0123456789abcdef0123", "2026-12-06T05:00:00Z"
		t.Cleanup(func() { version, commit, date = oldV, oldC, oldD })
		stdout, _, err := run(t, nil, "version")
		if err != nil {
			t.Fatalf("version: %v", err)
		}
		if want := "ferry v9.8.7 commit 0123456789ab built 2026-12-06T05:00:00Z\n"; stdout != want {
			t.Errorf("version printed %q, want %q", stdout, want)
		}
	})
	t.Run("rejects arguments", func(t *testing.T) {
		if _, _, err := run(t, nil, "version", "extra"); err == nil {
			t.Error("version with an argument succeeded")
		}
	})
}

func TestConfigValidate(t *testing.T) {
	env := map[string]string{"FERRY_TEST_LISTEN": "127.0.0.1:0"}
	good := writeConfig(t, "good.yaml", validConfig)
	bad := writeConfig(t, "bad.yaml", badConfig)
	open := writeConfig(t, "open.yaml", openConfig)
	short := writeConfig(t, "short.yaml", "listen: ${FERRY_TEST_LISTEN}\nadmin: {listen: \"off\"}\nkeys:\n  - name: a\n    key: sk-123456\nproviders: [{name: sim, type: simulator}]\nroutes: [{match: \"*\", targets: [{provider: sim}]}]\n")

	tests := []struct {
		name         string
		env          map[string]string
		args         []string
		wantStdout   []string
		wantStderr   []string
		wantErr      bool
		wantProblems bool
	}{
		{
			name:       "valid file",
			env:        env,
			args:       []string{"config", "validate", good},
			wantStdout: []string{good + ": ok"},
		},
		{
			name:         "several problems",
			env:          env,
			args:         []string{"config", "validate", bad},
			wantStderr:   badConfigProblems(bad),
			wantErr:      true,
			wantProblems: true,
		},
		{
			name:         "env variable unset",
			env:          nil,
			args:         []string{"config", "validate", good},
			wantStderr:   []string{good + ":1: listen is empty: ${FERRY_TEST_LISTEN} is not set (write ${FERRY_TEST_LISTEN:-} to allow that)"},
			wantErr:      true,
			wantProblems: true,
		},
		{
			name:         "non-loopback without keys",
			env:          env,
			args:         []string{"config", "validate", open},
			wantStderr:   []string{open + `:1: listen "0.0.0.0:0" is not a loopback address and no keys are configured: configure keys, or listen on 127.0.0.1`},
			wantErr:      true,
			wantProblems: true,
		},
		{
			name:         "gateway key too short",
			env:          env,
			args:         []string{"config", "validate", short},
			wantStderr:   []string{short + ":5: keys[0].key is 9 characters long: a gateway key needs at least 20 (for example: openssl rand -hex 24)"},
			wantErr:      true,
			wantProblems: true,
		},
		{
			name:    "missing file",
			env:     env,
			args:    []string{"config", "validate", filepath.Join(t.TempDir(), "absent.yaml")},
			wantErr: true,
		},
		{
			name:    "no file argument",
			env:     env,
			args:    []string{"config", "validate"},
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := run(t, tc.env, tc.args...)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			var ps config.Problems
			if got := errors.As(err, &ps); got != tc.wantProblems {
				t.Errorf("errors.As(err, *config.Problems) = %v, want %v (err %v)", got, tc.wantProblems, err)
			}
			if tc.wantProblems && len(ps) != len(tc.wantStderr) {
				t.Errorf("got %d problems, want %d: %v", len(ps), len(tc.wantStderr), ps)
			}
			if diff := cmp.Diff(tc.wantStdout, lines(stdout)); diff != "" {
				t.Errorf("stdout mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantStderr, lines(stderr)); diff != "" {
				t.Errorf("stderr mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// serveMustFail runs serve, which must fail before it starts listening. A
// serve that starts would block until a signal, so it is bounded by a timer.
func serveMustFail(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	type result struct {
		stdout, stderr string
		err            error
	}
	done := make(chan result, 1)
	var out, errb bytes.Buffer
	root := newRoot(&out, &errb, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
	root.SetArgs(append([]string{"serve"}, args...))
	go func() {
		err := root.Execute()
		done <- result{out.String(), errb.String(), err}
	}()
	select {
	case r := <-done:
		return r.stdout, r.stderr, r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("serve %v did not fail: it seems to be serving", args)
		return "", "", nil
	}
}

func TestServeFailsOnBadConfig(t *testing.T) {
	bad := writeConfig(t, "bad.yaml", badConfig)
	open := writeConfig(t, "open.yaml", openConfig)
	good := writeConfig(t, "good.yaml", validConfig)
	env := map[string]string{"FERRY_TEST_LISTEN": "127.0.0.1:0"}

	loopbackProblem := `listen "0.0.0.0:0" is not a loopback address and no keys are configured: configure keys, or listen on 127.0.0.1`
	tests := []struct {
		name       string
		args       []string
		wantStderr []string
	}{
		{
			name:       "several problems",
			args:       []string{"--config", bad},
			wantStderr: badConfigProblems(bad),
		},
		{
			name:       "short flag",
			args:       []string{"-c", bad},
			wantStderr: badConfigProblems(bad),
		},
		{
			name:       "non-loopback listen without keys in the file",
			args:       []string{"--config", open},
			wantStderr: []string{open + ":1: " + loopbackProblem},
		},
		{
			// The file is valid; the override makes it invalid, and the
			// check then runs on the Config, which has no file or line.
			name:       "non-loopback --listen override without keys",
			args:       []string{"--config", good, "--listen", "0.0.0.0:0"},
			wantStderr: []string{loopbackProblem},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := serveMustFail(t, env, tc.args...)
			if err == nil {
				t.Fatal("serve succeeded")
			}
			var ps config.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("serve error %v (%T) is not config.Problems", err, err)
			}
			if len(ps) != len(tc.wantStderr) {
				t.Errorf("got %d problems, want %d: %v", len(ps), len(tc.wantStderr), ps)
			}
			if diff := cmp.Diff(tc.wantStderr, lines(stderr)); diff != "" {
				t.Errorf("stderr mismatch (-want +got):\n%s", diff)
			}
			if stdout != "" {
				t.Errorf("serve wrote to stdout: %q", stdout)
			}
			if !strings.Contains(err.Error(), "loopback") && strings.Contains(tc.name, "loopback") {
				t.Errorf("error %q does not mention loopback", err)
			}
		})
	}
}

func TestServeMissingConfigFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "absent.yaml")
	stdout, stderr, err := serveMustFail(t, nil, "--config", missing)
	if err == nil {
		t.Fatal("serve succeeded with a missing config file")
	}
	var ps config.Problems
	if errors.As(err, &ps) {
		t.Errorf("missing file reported as problems: %v", ps)
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want one wrapping os.ErrNotExist", err)
	}
	// main prints a non-Problems error itself; the command prints nothing.
	if stdout != "" || stderr != "" {
		t.Errorf("stdout %q, stderr %q; want both empty", stdout, stderr)
	}
}

func TestUnknownCommand(t *testing.T) {
	if _, _, err := run(t, nil, "frobnicate"); err == nil {
		t.Error("unknown command succeeded")
	}
}
