package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// pausePid returns the pid of pod p's namespace holder.
func (e *env) pausePid(t *testing.T, p *corev1.Pod) int { return e.shimChild(t, p, "podd-pause") }

// shimChild returns the pid of the child of pod p's shim named comm.
func (e *env) shimChild(t *testing.T, p *corev1.Pod, comm string) int {
	t.Helper()
	shimPid := e.identity(p).ShimPid
	if shimPid == "" {
		t.Fatalf("pod %s has no shim", p.Name)
	}
	tasks, _ := filepath.Glob("/proc/" + shimPid + "/task/*/children")
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		for _, pid := range strings.Fields(string(b)) {
			if c, _ := os.ReadFile("/proc/" + pid + "/comm"); strings.TrimSpace(string(c)) == comm {
				n, _ := strconv.Atoi(pid)
				return n
			}
		}
	}
	t.Fatalf("no %s child of shim %s of pod %s", comm, shimPid, p.Name)
	return 0
}

// The pause holder (started by the shim without libcontainer) runs as an
// unprivileged user with no capability and no_new_privs, in the pod's
// cgroup; the container shares its network, IPC and UTS namespaces (and
// sees the pod's hostname) but has a PID namespace of its own.
func TestPauseHolderIsUnprivilegedAndHoldsThePodNamespaces(t *testing.T) {
	e := newEnv(t)
	e.apply(sleeperPods("holder", 1))
	p := e.waitRunning("holder0", 90*time.Second)
	pid := e.pausePid(t, p)
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Uid:\t65535\t65535\t65535\t65535\n", "CapEff:\t0000000000000000\n",
		"CapPrm:\t0000000000000000\n", "CapBnd:\t0000000000000000\n", "NoNewPrivs:\t1\n"} {
		if !strings.Contains(string(status), want) {
			t.Errorf("pause status lacks %q:\n%s", strings.TrimSpace(want), status)
		}
	}
	if cg, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup"); !strings.Contains(string(cg), string(p.UID)+"/pause\n") {
		t.Errorf("pause cgroups:\n%s\nwant the pod's pause cgroup", cg)
	}
	ctr := e.shimChild(t, p, "sleep") // container c's init
	for _, ns := range []string{"net", "ipc", "uts"} {
		if a, b := nsLink(pid, ns), nsLink(ctr, ns); a == "" || a != b {
			t.Errorf("%s namespace: pause %q, container %q; want the same", ns, a, b)
		}
	}
	if a, b := nsLink(pid, "pid"), nsLink(ctr, "pid"); a == b {
		t.Errorf("the container shares the pause's PID namespace %s without shareProcessNamespace", a)
	}
	if out := strings.TrimSpace(e.podctl("exec", "holder0", "--", "hostname")); out != "holder0" {
		t.Errorf("hostname in the container %q, want holder0", out)
	}
}

// A pause that dies loses the sandbox: the daemon makes a new one (a new
// shim) and the pod runs again.
func TestPauseKilledLosesSandbox(t *testing.T) {
	e := newEnv(t)
	e.apply(sleeperPods("pdeath", 1))
	p := e.waitRunning("pdeath0", 90*time.Second)
	before := e.identity(p)
	if err := syscall.Kill(e.pausePid(t, p), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.waitForPod("pdeath0", 120*time.Second, "a new sandbox, running", func(p *corev1.Pod) bool {
		id := e.identity(p)
		return id.ShimPid != "" && id.ShimPid != before.ShimPid && p.Status.Phase == corev1.PodRunning &&
			describeStates(p) == "c=running "
	})
	e.daemonAlive(t)
	if log := e.logBuf.String(); !strings.Contains(log, "Sandbox lost") || !strings.Contains(log, "pause holder exited") {
		t.Errorf("the daemon did not log the sandbox lost with its pause")
	}
}

func nsLink(pid int, ns string) string {
	s, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/" + ns)
	return s
}
