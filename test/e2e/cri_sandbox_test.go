package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

var (
	crictlOnce sync.Once
	crictlPath string
	crictlErr  error
)

// crictlBinary returns bin/crictl of the binaries' directory, built there
// by hack/build-cri-tools.sh (from the module cache) when missing.
func crictlBinary(t testing.TB) string {
	t.Helper()
	crictlOnce.Do(func() {
		dir := binaries(t)
		crictlPath = filepath.Join(dir, "crictl")
		if _, err := os.Stat(crictlPath); err == nil {
			return
		}
		cmd := exec.Command("./hack/build-cri-tools.sh", "crictl")
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "OUT_DIR="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			crictlErr = fmt.Errorf("build crictl: %v\n%s", err, out)
		}
	})
	if crictlErr != nil {
		t.Fatal(crictlErr)
	}
	return crictlPath
}

// crictl runs crictl against the env's CRI socket and returns its stdout.
func (e *env) crictl(args ...string) string {
	e.t.Helper()
	out, err := e.crictlErr(args...)
	if err != nil {
		e.t.Fatalf("crictl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (e *env) crictlErr(args ...string) (string, error) {
	e.t.Helper()
	sock := "unix://" + e.criSocket()
	cmd := exec.Command(crictlBinary(e.t), append([]string{"--runtime-endpoint", sock, "--image-endpoint", sock, "--timeout", "60s"}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

// crictlPods lists the CRI sandboxes crictl shows for filter flags, as
// "<id> <state>" lines.
func (e *env) crictlPods(flags ...string) []string {
	e.t.Helper()
	var resp struct {
		Items []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"items"`
	}
	out := e.crictl(append([]string{"pods", "-o", "json"}, flags...)...)
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		e.t.Fatalf("crictl pods: %v\n%s", err, out)
	}
	var got []string
	for _, it := range resp.Items {
		got = append(got, it.ID+" "+it.State)
	}
	return got
}

// sandboxInspect is what the test reads of `crictl inspectp -o json`.
type sandboxInspect struct {
	Status struct {
		ID        string `json:"id"`
		State     string `json:"state"`
		CreatedAt string `json:"createdAt"`
		Network   struct {
			IP string `json:"ip"`
		} `json:"network"`
		Labels map[string]string `json:"labels"`
	} `json:"status"`
	Info struct {
		NetnsPath string `json:"netNamespacePath"`
	} `json:"info"`
}

func (e *env) inspectp(id string) sandboxInspect {
	e.t.Helper()
	out := e.crictl("inspectp", "-o", "json", id)
	var si sandboxInspect
	if err := json.Unmarshal([]byte(out), &si); err != nil {
		e.t.Fatalf("crictl inspectp: %v\n%s", err, out)
	}
	return si
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Issue 9, sandbox slice: crictl runp/pods/inspectp/stopp/rmp drive podd's
// sandbox service; CRI sandboxes and podd pods are listed apart; a kill -9
// of podd between runp and rmp changes nothing crictl sees; nothing is left
// after rmp.
func TestCRISandboxLifecycleWithCrictl(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata:
  name: own
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: c
    image: busybox:latest
    command: ["sleep", "3600"]
`)
	e.waitRunning("own", 60*time.Second)

	hostPort := freePort(t)
	cfg := filepath.Join(t.TempDir(), "sandbox.json")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`{
  "metadata": {"name": "crisb", "namespace": "cri", "uid": "crisb-uid", "attempt": 1},
  "hostname": "crisb-host",
  "log_directory": "/tmp/crisb-logs",
  "dns_config": {"servers": ["10.0.0.10"], "searches": ["cri.svc.cluster.local"], "options": ["ndots:5"]},
  "port_mappings": [{"protocol": 0, "container_port": 80, "host_port": %d}],
  "labels": {"app": "crisb", "tier": "test"},
  "annotations": {"note": "e2e"},
  "linux": {}
}`, hostPort)), 0o600); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(e.crictl("runp", cfg))
	if len(id) != 64 {
		t.Fatalf("runp printed %q, want a sandbox ID", id)
	}

	// Listed apart: crictl shows the CRI sandbox only, podctl the pod only.
	if got := e.crictlPods(); !reflect.DeepEqual(got, []string{id + " SANDBOX_READY"}) {
		t.Errorf("crictl pods = %v, want only %s", got, id)
	}
	if out := e.podctl("get", "pods"); strings.Contains(out, "crisb") || !strings.Contains(out, "own") {
		t.Errorf("podctl get pods:\n%s", out)
	}
	for _, tc := range []struct {
		flags []string
		want  []string
	}{
		{[]string{"--id", id[:12]}, []string{id + " SANDBOX_READY"}},
		{[]string{"--label", "app=crisb", "--label", "tier=test"}, []string{id + " SANDBOX_READY"}},
		{[]string{"--label", "app=other"}, nil},
		{[]string{"--state", "ready"}, []string{id + " SANDBOX_READY"}},
		{[]string{"--state", "notready"}, nil},
	} {
		if got := e.crictlPods(tc.flags...); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("crictl pods %v = %v, want %v", tc.flags, got, tc.want)
		}
	}

	before := e.inspectp(id)
	if before.Status.State != "SANDBOX_READY" || net.ParseIP(before.Status.Network.IP) == nil ||
		before.Status.Labels["app"] != "crisb" || before.Info.NetnsPath == "" {
		t.Fatalf("inspectp: %+v", before)
	}
	if _, err := os.Stat(before.Info.NetnsPath); err != nil {
		t.Errorf("netns pin: %v", err)
	}
	if nat, _ := exec.Command("iptables", "-w", "-t", "nat", "-S").Output(); !strings.Contains(string(nat), fmt.Sprintf("--dport %d", hostPort)) {
		t.Errorf("no DNAT rule for hostPort %d", hostPort)
	}

	// A crash of podd changes nothing crictl sees.
	e.killDaemon()
	e.restartDaemon()
	if got := e.crictlPods(); !reflect.DeepEqual(got, []string{id + " SANDBOX_READY"}) {
		t.Errorf("after kill -9: crictl pods = %v", got)
	}
	if after := e.inspectp(id); !reflect.DeepEqual(after.Status, before.Status) {
		t.Errorf("after kill -9: inspectp %+v, before %+v", after.Status, before.Status)
	}

	e.podctl("delete", "pod", "own", "--grace-period", "0")
	e.waitGone("own", 60*time.Second)
	e.crictl("stopp", id)
	if st := e.inspectp(id).Status.State; st != "SANDBOX_NOTREADY" {
		t.Errorf("after stopp: %s", st)
	}
	if got := e.crictlPods("--state", "notready"); !reflect.DeepEqual(got, []string{id + " SANDBOX_NOTREADY"}) {
		t.Errorf("crictl pods --state notready = %v", got)
	}
	e.crictl("rmp", id)
	if got := e.crictlPods(); len(got) != 0 {
		t.Errorf("after rmp: crictl pods = %v", got)
	}
	// Stop and remove of an ID podd does not know succeed, as CRI requires
	// (crictl rmp asks the sandbox's status first: the RPC itself here).
	unknown := strings.Repeat("ab", 32)
	e.crictl("stopp", unknown)
	rc, _ := e.criClients()
	if _, err := rc.RemovePodSandbox(context.Background(), &runtimeapi.RemovePodSandboxRequest{PodSandboxId: unknown}); err != nil {
		t.Errorf("RemovePodSandbox of an unknown ID: %v", err)
	}
	if c := e.census(t); !c.empty() {
		t.Errorf("left on the host after rmp: %+v", c)
	}
}

// A reboot leaves a CRI sandbox NotReady (its client, the kubelet, makes a
// new one); podd neither recreates nor collects it, and stopp + rmp still
// release everything it held (its IP lease and CNI state survive on disk).
func TestCRISandboxAfterRebootIsNotReady(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cfg := filepath.Join(t.TempDir(), "sandbox.json")
	if err := os.WriteFile(cfg, []byte(`{"metadata": {"name": "rb", "namespace": "cri", "uid": "rb-uid"}, "linux": {}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(e.crictl("runp", cfg))
	e.killDaemon()
	simulateReboot(t, e)
	e.restartDaemon()
	if got := e.crictlPods(); !reflect.DeepEqual(got, []string{id + " SANDBOX_NOTREADY"}) {
		t.Errorf("after a reboot: crictl pods = %v, want %s NotReady", got, id)
	}
	if c := e.census(t); len(c.IPs) != 1 {
		t.Errorf("the start-up GC released the lease of a CRI sandbox: %+v", c)
	}
	e.crictl("stopp", id)
	e.crictl("rmp", id)
	if c := e.census(t); !c.empty() {
		t.Errorf("left on the host after rmp: %+v", c)
	}
}
