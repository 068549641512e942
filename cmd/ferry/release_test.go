package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// releaseTargets are the platforms scripts/release.sh builds by default.
var releaseTargets = []string{"linux/amd64", "linux/arm64", "darwin/arm64", "windows/amd64"}

// TestReleaseScript runs scripts/release.sh and checks the binaries, their
// checksums and, for the host's target, the stamp. By default it builds the
// host's target only (the test build cache makes that a link, seconds);
// FERRY_RELEASE_ALL=1 builds all four, which on a cold cache compiles the
// whole tree three more times (minutes on two cores): the release job sets it.
// -short skips the test.
func TestReleaseScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds release binaries")
	}
	script, err := os.ReadFile("../../scripts/release.sh")
	if err != nil {
		t.Fatal(err)
	}
	if want := `TARGETS=${TARGETS:-"` + strings.Join(releaseTargets, " ") + `"}`; !strings.Contains(string(script), want) {
		t.Errorf("release.sh does not default to %s", want)
	}
	targets := []string{runtime.GOOS + "/" + runtime.GOARCH}
	if os.Getenv("FERRY_RELEASE_ALL") == "1" {
		targets = releaseTargets
	}
	dist := t.TempDir()
	cmd := exec.Command("sh", "../../scripts/release.sh")
	cmd.Env = append(os.Environ(), "DIST="+dist, "VERSION=v0.0.0-test", "COMMIT=0123456789abcdef", "SOURCE_DATE_EPOCH=1796533200",
		"TARGETS="+strings.Join(targets, " "))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release.sh: %v\n%s", err, out)
	}
	var want []string
	for _, target := range targets {
		name := "ferry_v0.0.0-test_" + strings.Replace(target, "/", "_", 1)
		if strings.HasPrefix(target, "windows/") {
			name += ".exe"
		}
		want = append(want, name)
	}
	sums := readSums(t, filepath.Join(dist, "SHA256SUMS"))
	if len(sums) != len(want) {
		t.Errorf("SHA256SUMS has %d lines, want %d: %v", len(sums), len(want), sums)
	}
	for _, name := range want {
		data, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil {
			t.Errorf("missing %s: %v", name, err)
			continue
		}
		h := sha256.Sum256(data)
		if got := sums[name]; got != hex.EncodeToString(h[:]) {
			t.Errorf("SHA256SUMS says %s is %q, it is %x", name, got, h)
		}
	}
	if runtime.GOOS+"/"+runtime.GOARCH != "linux/amd64" {
		return
	}
	out, err := exec.Command(filepath.Join(dist, "ferry_v0.0.0-test_linux_amd64"), "version").Output()
	if err != nil {
		t.Fatalf("version: %v", err)
	}
	if got, w := string(out), "ferry v0.0.0-test commit 0123456789ab built 2026-12-06T05:00:00Z\n"; got != w {
		t.Errorf("stamped binary prints %q, want %q", got, w)
	}
}

func readSums(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q: want \"<sum>  <file>\"", sc.Text())
		}
		sums[name] = sum
	}
	return sums
}
