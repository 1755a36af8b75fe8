package systemd

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/podd-dev/podd/test/testutil"
)

var units = []string{"podd.service", "podd.socket"}

// directives reads a unit file into "Section.Key" -> values.
func directives(t *testing.T, name string) map[string][]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatalf("open unit: %v", err)
	}
	defer f.Close()
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: line %q is not key=value", name, line)
			}
			key := section + "." + strings.TrimSpace(k)
			out[key] = append(out[key], strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return out
}

func TestServiceDirectives(t *testing.T) {
	d := directives(t, "podd.service")
	want := map[string]string{
		"Service.Type":           "notify",
		"Service.NotifyAccess":   "main",
		"Service.ExecStart":      "/usr/local/bin/podd",
		"Service.KillMode":       "process", // shims (and so pods) survive a daemon restart
		"Service.Delegate":       "yes",
		"Service.Restart":        "on-failure",
		"Service.WatchdogSec":    "30s",
		"Service.OOMScoreAdjust": "-999",
	}
	for k, v := range want {
		if got := d[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// The hard RLIMIT_NOFILE of some hosts is 20000; asking for more fails the start.
	nofile, err := strconv.Atoi(strings.Join(d["Service.LimitNOFILE"], ""))
	if err != nil || nofile <= 0 || nofile > 20000 {
		t.Errorf("LimitNOFILE = %q, want a number in 1..20000", d["Service.LimitNOFILE"])
	}
	// Netns pins and overlay mounts must live in the host mount namespace.
	for _, k := range []string{"PrivateTmp", "MountFlags", "ProtectSystem", "ProtectHome", "PrivateMounts", "PrivateDevices", "ReadOnlyPaths", "TemporaryFileSystem"} {
		if v, ok := d["Service."+k]; ok {
			t.Errorf("Service.%s = %q: podd must share the host mount namespace", k, v)
		}
	}
}

func TestSocketDirectives(t *testing.T) {
	d := directives(t, "podd.socket")
	want := map[string]string{
		"Socket.ListenStream": "/run/podd/podd.sock",
		"Socket.SocketMode":   "0600",
	}
	for k, v := range want {
		if got := d[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// TestSystemdAnalyzeVerify runs `systemd-analyze verify` on copies of the
// units whose ExecStart names an existing binary (verify rejects a missing
// one), and fails on anything it says about them.
func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv(testutil.RootEnv) == "1" {
			t.Fatalf("systemd-analyze not found (apt-get install systemd): %v", err)
		}
		t.Skip("systemd-analyze not found (Debian package: systemd); set " + testutil.RootEnv + "=1 to make this a failure")
	}
	dir := t.TempDir()
	var paths []string
	for _, u := range units {
		data, err := os.ReadFile(u)
		if err != nil {
			t.Fatalf("read unit: %v", err)
		}
		text := strings.ReplaceAll(string(data), "ExecStart=/usr/local/bin/podd", "ExecStart=/bin/true")
		p := filepath.Join(dir, u)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatalf("write unit copy: %v", err)
		}
		paths = append(paths, p)
	}
	cmd := exec.Command(analyze, append([]string{"verify", "--man=no"}, paths...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// verify exits 0 on unknown keys and other warnings: fail on any line
	// about our units (lines about the host's own units are not ours to fix).
	for _, line := range strings.Split(string(out), "\n") {
		for _, u := range units {
			if strings.Contains(line, u) {
				t.Errorf("systemd-analyze verify: %s", line)
				break
			}
		}
	}
}
