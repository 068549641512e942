package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ferrygw/ferry/internal/config"
)

// The deployment files under deploy/ (Docker cannot run here, so these
// tests check what can be checked without it: YAML syntax, the wiring
// between the files, and that every Ferry config they use passes
// `ferry config validate` with the environment they give it).

const deployDir = "../../deploy/"

func TestDeployCompose(t *testing.T) {
	var compose struct {
		Services map[string]struct {
			Environment      map[string]string `yaml:"environment"`
			Volumes          []string          `yaml:"volumes"`
			StopGracePeriod  string            `yaml:"stop_grace_period"`
			Command          []string          `yaml:"command"`
			ReadOnly         bool              `yaml:"read_only"`
			DependsOnAnyForm any               `yaml:"depends_on"`
		} `yaml:"services"`
	}
	decodeYAML(t, deployDir+"compose/compose.yaml", &compose)
	for _, name := range []string{"ferry-1", "ferry-2", "ferry-3", "nginx", "redis", "postgres"} {
		if _, ok := compose.Services[name]; !ok {
			t.Errorf("compose.yaml has no service %s", name)
		}
	}
	f := compose.Services["ferry-2"]
	if !slicesContain(f.Volumes, "./ferry.yaml:/etc/ferry/ferry.yaml:ro") || strings.Join(f.Command, " ") != "serve --config /etc/ferry/ferry.yaml" {
		t.Errorf("ferry-2 does not run the mounted ferry.yaml: %+v", f)
	}
	// The values compose passes when .env sets nothing: the ${VAR:-default}s.
	env := map[string]string{}
	for k, v := range f.Environment {
		env[k] = composeDefault(v)
	}
	validate(t, deployDir+"compose/ferry.yaml", env)
	cfg, err := config.Load(deployDir+"compose/ferry.yaml", lookupIn(env))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cfg.Store.Reveal(), "postgres://ferry:change-me@postgres:5432/") {
		t.Error("the three instances do not share the compose file's PostgreSQL as their store")
	}

	nginx, err := os.ReadFile(deployDir + "compose/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"server ferry-1:8080", "server ferry-2:8080", "server ferry-3:8080", "proxy_buffering off;", "proxy_read_timeout 3600s;", "proxy_http_version 1.1;"} {
		if !bytes.Contains(nginx, []byte(want)) {
			t.Errorf("nginx.conf lacks %q", want)
		}
	}
}

func TestDeployKubernetes(t *testing.T) {
	docs := decodeAll(t, deployDir+"kubernetes/ferry.yaml")
	byKind := map[string]map[string]any{}
	for _, d := range docs {
		byKind[d["kind"].(string)] = d
	}
	for _, kind := range []string{"ConfigMap", "Secret", "Deployment", "Service", "PodDisruptionBudget"} {
		if byKind[kind] == nil {
			t.Fatalf("no %s in ferry.yaml", kind)
		}
	}
	env := map[string]string{}
	for k, v := range byKind["Secret"]["stringData"].(map[string]any) {
		env[k] = v.(string)
	}
	blob := byKind["ConfigMap"]["data"].(map[string]any)["ferry.yaml"].(string)
	path := writeConfig(t, "ferry.yaml", blob)
	validate(t, path, env)
	cfg, err := config.Load(path, lookupIn(env))
	if err != nil {
		t.Fatal(err)
	}

	var dep struct {
		Spec struct {
			Template struct {
				Spec struct {
					Grace      int `yaml:"terminationGracePeriodSeconds"`
					Containers []struct {
						Args   []string `yaml:"args"`
						Mounts []struct {
							Path     string `yaml:"mountPath"`
							ReadOnly bool   `yaml:"readOnly"`
						} `yaml:"volumeMounts"`
						Liveness  probe `yaml:"livenessProbe"`
						Readiness probe `yaml:"readinessProbe"`
					} `yaml:"containers"`
					SecurityContext struct {
						RunAsNonRoot bool `yaml:"runAsNonRoot"`
					} `yaml:"securityContext"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	remarshal(t, byKind["Deployment"], &dep)
	ps := dep.Spec.Template.Spec
	if float64(ps.Grace) <= cfg.ShutdownTimeout.Seconds() {
		t.Errorf("terminationGracePeriodSeconds %d is not above shutdown_timeout %s", ps.Grace, cfg.ShutdownTimeout)
	}
	if !ps.SecurityContext.RunAsNonRoot || len(ps.Containers) != 1 {
		t.Fatalf("pod spec: %+v", ps)
	}
	c := ps.Containers[0]
	writable := false
	for _, m := range c.Mounts {
		writable = writable || m.Path == cfg.DataDir && !m.ReadOnly
	}
	if !writable {
		t.Errorf("data_dir %s is not a writable mount (the root filesystem is read-only)", cfg.DataDir)
	}
	if c.Liveness.HTTPGet.Path != "/healthz" || c.Readiness.HTTPGet.Path != "/readyz" {
		t.Errorf("probes: liveness %q, readiness %q", c.Liveness.HTTPGet.Path, c.Readiness.HTTPGet.Path)
	}
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
	} `yaml:"httpGet"`
}

func TestDeploySystemdAndDocker(t *testing.T) {
	unit, err := os.ReadFile(deployDir + "systemd/ferry.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "WorkingDirectory=/var/lib/ferry", "StateDirectory=ferry", "ExecStart=/usr/local/bin/ferry serve --config /etc/ferry/ferry.yaml", "TimeoutStopSec=40s"} {
		if !bytes.Contains(unit, []byte(want+"\n")) {
			t.Errorf("ferry.service lacks %q", want)
		}
	}
	// The unit runs ferry.example.yaml copied to /etc/ferry, with the
	// variables of ferry.env.example (empty: the example's defaults).
	validate(t, "../../ferry.example.yaml", nil)

	df, err := os.ReadFile(deployDir + "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{" AS build\n", "CGO_ENABLED=0 go build -trimpath", "COPY --from=build", "\nUSER 65532:65532\n", "-X main.version=${VERSION}"} {
		if !bytes.Contains(df, []byte(want)) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
}

// validate runs `ferry config validate` on path with env.
func validate(t *testing.T, path string, env map[string]string) {
	t.Helper()
	stdout, stderr, err := run(t, env, "config", "validate", path)
	if err != nil {
		t.Errorf("ferry config validate %s: %v\n%s", filepath.Base(path), err, stderr)
	} else if !strings.HasSuffix(stdout, ": ok\n") {
		t.Errorf("ferry config validate %s printed %q", filepath.Base(path), stdout)
	}
}

var composeVar = regexp.MustCompile(`^\$\{[A-Z_]+:-(.*)\}$`)

func composeDefault(v string) string {
	if m := composeVar.FindStringSubmatch(v); m != nil {
		return m[1]
	}
	return v
}

func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func decodeYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func decodeAll(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []map[string]any
	for {
		var d map[string]any
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			return docs
		} else if err != nil {
			t.Fatalf("%s document %d: %v", path, len(docs)+1, err)
		}
		docs = append(docs, d)
	}
}

func remarshal(t *testing.T, in, out any) {
	t.Helper()
	data, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
}
