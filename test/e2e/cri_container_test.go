package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/test/testutil"
)

// crictlPs lists the CRI containers crictl shows (all states), as
// "<id> <state>" lines.
func (e *env) crictlPs(flags ...string) []string {
	e.t.Helper()
	var resp struct {
		Containers []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"containers"`
	}
	out := e.crictl(append([]string{"ps", "-a", "-o", "json"}, flags...)...)
	if err := json.Unmarshal([]byte(out), &resp); err != nil {
		e.t.Fatalf("crictl ps: %v\n%s", err, out)
	}
	var got []string
	for _, c := range resp.Containers {
		got = append(got, c.ID+" "+c.State)
	}
	return got
}

// containerInspect is what the test reads of `crictl inspect -o json`.
type containerInspect struct {
	Status struct {
		ID        string `json:"id"`
		State     string `json:"state"`
		StartedAt string `json:"startedAt"`
		ExitCode  int32  `json:"exitCode"`
		Reason    string `json:"reason"`
		ImageRef  string `json:"imageRef"`
		Image     struct {
			Image string `json:"image"`
		} `json:"image"`
		LogPath string `json:"logPath"`
		Mounts  []struct {
			ContainerPath string `json:"containerPath"`
			HostPath      string `json:"hostPath"`
			Readonly      bool   `json:"readonly"`
		} `json:"mounts"`
		Labels map[string]string `json:"labels"`
	} `json:"status"`
	Info struct {
		SandboxID string `json:"sandboxID"`
		Pid       int    `json:"pid"`
	} `json:"info"`
}

func (e *env) inspect(id string) containerInspect {
	e.t.Helper()
	out := e.crictl("inspect", "-o", "json", id)
	var ci containerInspect
	if err := json.Unmarshal([]byte(out), &ci); err != nil {
		e.t.Fatalf("crictl inspect: %v\n%s", err, out)
	}
	return ci
}

func writeJSON(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Issue 9, container slice: crictl create/start/ps/inspect/logs/exec -s/
// stop/rm drive podd's container steps in a CRI sandbox: a hostPath mount
// (read-only), a host device, a security context (user, no capabilities,
// read-only root);
// a kill -9 of podd in the middle changes nothing crictl sees; stop uses
// SIGKILL after its timeout; nothing is left after rmp.
func TestCRIContainerLifecycleWithCrictl(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	logDir := filepath.Join(dir, "logs")
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "hello"), []byte("hello from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sbCfg := writeJSON(t, filepath.Join(dir, "sandbox.json"), `{
  "metadata": {"name": "cri-ctr", "namespace": "cri", "uid": "cri-ctr-uid", "attempt": 0},
  "hostname": "cri-ctr", "log_directory": "`+logDir+`", "linux": {}
}`)
	appCfg := writeJSON(t, filepath.Join(dir, "app.json"), `{
  "metadata": {"name": "app", "attempt": 0},
  "image": {"image": "busybox:latest"},
  "command": ["sh", "-c", "trap '' TERM; echo started; cat /data/hello; id -u; exec sleep 3600"],
  "envs": [{"key": "GREETING", "value": "hi"}],
  "mounts": [{"container_path": "/data", "host_path": "`+data+`", "readonly": true}],
  "devices": [{"container_path": "/dev/mynull", "host_path": "/dev/null", "permissions": "rwm"}],
  "log_path": "app/0.log",
  "labels": {"tier": "web"},
  "linux": {"security_context": {
    "run_as_user": {"value": 1000},
    "capabilities": {"drop_capabilities": ["ALL"]},
    "readonly_rootfs": true,
    "no_new_privs": true,
    "seccomp": {"profile_type": 0}
  }}
}`)
	onceCfg := writeJSON(t, filepath.Join(dir, "once.json"), `{
  "metadata": {"name": "once"}, "image": {"image": "busybox:latest"},
  "command": ["sh", "-c", "exit 0"], "log_path": "once/0.log", "linux": {}
}`)
	sb := strings.TrimSpace(e.crictl("runp", sbCfg))
	id := strings.TrimSpace(e.crictl("create", "--no-pull", sb, appCfg, sbCfg))
	if len(id) != 64 {
		t.Fatalf("create printed %q, want a container ID", id)
	}
	if got := e.crictlPs(); !reflect.DeepEqual(got, []string{id + " CONTAINER_CREATED"}) {
		t.Errorf("after create: crictl ps -a = %v", got)
	}
	e.crictl("start", id)
	if got := e.crictlPs("--state", "running"); !reflect.DeepEqual(got, []string{id + " CONTAINER_RUNNING"}) {
		t.Errorf("after start: crictl ps --state running = %v", got)
	}
	before := e.inspect(id)
	if s := before.Status; s.State != "CONTAINER_RUNNING" || s.LogPath != filepath.Join(logDir, "app/0.log") ||
		s.Labels["tier"] != "web" || !strings.Contains(s.Image.Image, "busybox") || s.ImageRef == "" ||
		len(s.Mounts) != 1 || s.Mounts[0].HostPath != data || !s.Mounts[0].Readonly || before.Info.SandboxID != sb || before.Info.Pid == 0 {
		t.Errorf("inspect: %+v", before)
	}
	testutil.WaitFor(t, 30*time.Second, "crictl logs of app", func() (bool, error) {
		out, err := e.crictlErr("logs", id)
		return err == nil && strings.Contains(out, "started\nhello from the host\n1000\n"), nil
	})

	// exec -s: ExecSync in the container's namespaces, user and env (crictl
	// ends what it prints with newlines of its own).
	if out := e.crictl("exec", "-s", id, "sh", "-c", "echo $GREETING $(id -u); cat /data/hello"); strings.TrimRight(out, "\n") != "hi 1000\nhello from the host" {
		t.Errorf("exec -s printed %q", out)
	}
	rc, _ := e.criClients()
	ctx := context.Background()
	for _, tc := range []struct {
		cmd                  []string
		stdout, stderr, code string
	}{
		{[]string{"sh", "-c", "echo out; echo err >&2; exit 3"}, "out\n", "err\n", "3"},
		{[]string{"touch", "/x"}, "", "touch: /x: Read-only file system\n", "1"},
		{[]string{"touch", "/data/x"}, "", "touch: /data/x: Read-only file system\n", "1"},
		{[]string{"sh", "-c", "grep CapEff /proc/self/status"}, "CapEff:\t0000000000000000\n", "", "0"},
		{[]string{"sh", "-c", "echo x > /dev/mynull && ls -l /dev/mynull | cut -c1"}, "c\n", "", "0"},
	} {
		r, err := rc.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: tc.cmd, Timeout: 30})
		if err != nil {
			t.Errorf("ExecSync %v: %v", tc.cmd, err)
			continue
		}
		if string(r.Stdout) != tc.stdout || string(r.Stderr) != tc.stderr || strconv.Itoa(int(r.ExitCode)) != tc.code {
			t.Errorf("ExecSync %v = %q %q %d, want %q %q %s", tc.cmd, r.Stdout, r.Stderr, r.ExitCode, tc.stdout, tc.stderr, tc.code)
		}
	}
	start := time.Now()
	if _, err := rc.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"sleep", "60"}, Timeout: 1}); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("ExecSync past its timeout: %v", err)
	} else if took := time.Since(start); took > 20*time.Second {
		t.Errorf("ExecSync with timeout 1s took %s", took)
	}

	// A crash of podd changes nothing crictl sees.
	e.killDaemon()
	e.restartDaemon()
	if got := e.crictlPs(); !reflect.DeepEqual(got, []string{id + " CONTAINER_RUNNING"}) {
		t.Errorf("after kill -9: crictl ps -a = %v", got)
	}
	if after := e.inspect(id); !reflect.DeepEqual(after, before) {
		t.Errorf("after kill -9: inspect %+v, before %+v", after, before)
	}
	if out := e.crictl("exec", "-s", id, "cat", "/data/hello"); strings.TrimRight(out, "\n") != "hello from the host" {
		t.Errorf("after kill -9: exec -s printed %q", out)
	}

	// A container that ends by itself is EXITED, Completed.
	once := strings.TrimSpace(e.crictl("create", "--no-pull", sb, onceCfg, sbCfg))
	e.crictl("start", once)
	testutil.WaitFor(t, 30*time.Second, "once EXITED", func() (bool, error) {
		return e.inspect(once).Status.State == "CONTAINER_EXITED", nil
	})
	if s := e.inspect(once).Status; s.ExitCode != 0 || s.Reason != "Completed" {
		t.Errorf("once: %+v", s)
	}

	// UpdateContainerResources reaches the running container's cgroup.
	e.crictl("update", "--memory", "67108864", "--cpu-share", "256", id)
	if out := e.crictl("exec", "-s", id, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/cpu/cpu.shares"); strings.TrimRight(out, "\n") != "67108864\n256" {
		t.Errorf("cgroup after update: %q", out)
	}
	if r := e.inspect(id); r.Status.State != "CONTAINER_RUNNING" {
		t.Errorf("after update: %+v", r.Status)
	}
	// ReopenContainerLog after the log was moved away starts a new one.
	logFile := filepath.Join(logDir, "app/0.log")
	if err := os.Rename(logFile, logFile+".moved"); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.ReopenContainerLog(ctx, &runtimeapi.ReopenContainerLogRequest{ContainerId: id}); err != nil {
		t.Errorf("ReopenContainerLog: %v", err)
	}
	if _, err := os.Stat(logFile); err != nil {
		t.Errorf("after ReopenContainerLog: %v", err)
	}
	// The app ignores SIGTERM: stop kills it once the timeout passed.
	// Meanwhile its status and an exec in it answer at once, as the
	// kubelet's PLEG and readiness probes ask through a grace period.
	start = time.Now()
	stopped := make(chan string, 1)
	go func() {
		out, err := e.crictlErr("stop", "--timeout", "2", id)
		if err != nil {
			out += err.Error()
		}
		stopped <- out
	}()
	var slowest time.Duration
	for during := true; during; {
		select {
		case out := <-stopped:
			if !strings.Contains(out, id) {
				t.Errorf("crictl stop: %s", out)
			}
			during = false
		default:
			t0 := time.Now()
			_, serr := rc.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: id})
			r, xerr := rc.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"true"}, Timeout: 1})
			slowest = max(slowest, time.Since(t0))
			// An exec the stop's SIGKILL ends exits 137 (or fails).
			if serr != nil || (xerr == nil && r.ExitCode != 0 && r.ExitCode != 137) {
				t.Errorf("during the stop: status %v, exec %v %v", serr, r, xerr)
			}
		}
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("stop --timeout 2 took %s: SIGKILL came before the timeout", took)
	}
	if slowest > time.Second {
		t.Errorf("a status and an exec during the stop's grace period took %s: they waited for the stop", slowest)
	}
	if s := e.inspect(id).Status; s.State != "CONTAINER_EXITED" || s.ExitCode != 137 || s.Reason != "Error" {
		t.Errorf("after stop: %+v", s)
	}
	if r, err := rc.ExecSync(ctx, &runtimeapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"true"}}); err == nil {
		t.Errorf("ExecSync in a stopped container: %v", r)
	}
	e.crictl("rm", "--keep-logs", id)
	if got := e.crictlPs(); !reflect.DeepEqual(got, []string{once + " CONTAINER_EXITED"}) {
		t.Errorf("after rm: crictl ps -a = %v", got)
	}
	// Stop and remove of an unknown container succeed, as CRI requires.
	unknown := strings.Repeat("cd", 32)
	if _, err := rc.StopContainer(ctx, &runtimeapi.StopContainerRequest{ContainerId: unknown}); err != nil {
		t.Errorf("StopContainer of an unknown ID: %v", err)
	}
	if _, err := rc.RemoveContainer(ctx, &runtimeapi.RemoveContainerRequest{ContainerId: unknown}); err != nil {
		t.Errorf("RemoveContainer of an unknown ID: %v", err)
	}
	// rmp removes the sandbox's last container with it.
	e.crictl("stopp", sb)
	e.crictl("rmp", sb)
	if got := e.crictlPs(); len(got) != 0 {
		t.Errorf("after rmp: crictl ps -a = %v", got)
	}
	if _, err := os.Stat(logFile); err != nil {
		t.Errorf("the container's log is the client's to remove: %v", err)
	}
	if c := e.census(t); !c.empty() {
		t.Errorf("left on the host after rmp: %+v", c)
	}
	if out, err := exec.Command("sh", "-c", "grep -c "+e.root+" /proc/self/mountinfo").Output(); strings.TrimSpace(string(out)) != "0" {
		t.Errorf("mounts left under the root: %s %v", out, err)
	}
}

// A reboot leaves a started CRI container EXITED with exit code 255 and
// reason Unknown (nobody saw it end), as containerd reports it; rm, stopp
// and rmp still release everything.
func TestCRIContainerAfterRebootIsExited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	dir := t.TempDir()
	sbCfg := writeJSON(t, filepath.Join(dir, "sandbox.json"), `{"metadata": {"name": "rbc", "namespace": "cri", "uid": "rbc-uid"},
  "log_directory": "`+filepath.Join(dir, "logs")+`", "linux": {}}`)
	cCfg := writeJSON(t, filepath.Join(dir, "c.json"), `{"metadata": {"name": "c"}, "image": {"image": "busybox:latest"},
  "command": ["sleep", "3600"], "log_path": "c/0.log", "linux": {}}`)
	sb := strings.TrimSpace(e.crictl("runp", sbCfg))
	id := strings.TrimSpace(e.crictl("create", "--no-pull", sb, cCfg, sbCfg))
	e.crictl("start", id)
	e.killDaemon()
	simulateReboot(t, e)
	e.restartDaemon()
	if got := e.crictlPs(); !reflect.DeepEqual(got, []string{id + " CONTAINER_EXITED"}) {
		t.Errorf("after a reboot: crictl ps -a = %v", got)
	}
	if s := e.inspect(id).Status; s.ExitCode != 255 || s.Reason != "Unknown" {
		t.Errorf("after a reboot: %+v", s)
	}
	e.crictl("rm", id)
	e.crictl("stopp", sb)
	e.crictl("rmp", sb)
	if c := e.census(t); !c.empty() {
		t.Errorf("left on the host after rmp: %+v", c)
	}
}
