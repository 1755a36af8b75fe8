package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// hostUsers: false on podd's own pods: the daemon (--pod-userns-ids) gives
// each such pod a block of 65536 IDs of its range, a different block per
// pod; the pod's containers see the mapping, their root owns the rootfs,
// and every volume is idmapped as the kubelet has it (a file a container's
// uid 1000 writes to a hostPath volume is uid 1000 on the host). The
// blocks and everything else are released with the pods; hostUsers: false
// with hostNetwork is refused.
func TestPodHostUsersFalse(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "--pod-userns-ids", "1048576:131072")
	data := t.TempDir()
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	pod := func(name string) string {
		return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  hostUsers: false
  terminationGracePeriodSeconds: 0
  securityContext:
    sysctls:
    - {name: net.ipv4.ip_unprivileged_port_start, value: "80"}
    - {name: kernel.shm_rmid_forced, value: "1"}
  volumes:
  - {name: data, hostPath: {path: %s, type: Directory}}
  - {name: scratch, emptyDir: {}}
  containers:
  - name: c
    image: busybox:latest
    command: ["sleep", "3600"]
    volumeMounts: [{name: data, mountPath: /data}, {name: scratch, mountPath: /scratch}]
`, name, data)
	}
	e.apply(pod("ua") + "---\n" + pod("ub"))
	pa := e.waitRunning("ua", 60*time.Second)
	e.waitRunning("ub", 60*time.Second)
	checkUsernsPause(t, e, pa)
	maps := map[string]bool{}
	for _, name := range []string{"ua", "ub"} {
		m := strings.Join(strings.Fields(e.podctl("exec", name, "--", "cat", "/proc/self/uid_map")), " ")
		if m != "0 1048576 65536" && m != "0 1114112 65536" {
			t.Errorf("pod %s: uid_map %q, want a block of the range", name, m)
		}
		maps[m] = true
	}
	if len(maps) != 2 {
		t.Errorf("the two pods share a user namespace's IDs: %v", maps)
	}
	out := e.podctl("exec", "ua", "--", "sh", "-c",
		"id -u; stat -c '%u:%g' / /scratch; touch /etc/x; echo x > /data/f && chown 1000:1000 /data/f && echo ok")
	if out != "0\n0:0\n0:0\nok\n" {
		t.Errorf("in pod ua: %q", out)
	}
	if u, g := hostOwner(t, filepath.Join(data, "f")); u != 1000 || g != 1000 {
		t.Errorf("the file uid 1000 wrote to the hostPath volume is %d:%d on the host, want 1000:1000", u, g)
	}
	if out, err := e.podctlIn(`apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  hostUsers: false
  hostNetwork: true
  containers: [{name: c, image: busybox:latest}]
`, "apply", "-f", "-"); err == nil || !strings.Contains(out, "spec.hostNetwork: Forbidden: not allowed with hostUsers: false") {
		t.Errorf("apply with hostNetwork: %v\n%s", err, out)
	}
	for _, name := range []string{"ua", "ub"} {
		e.podctl("delete", "pod", name, "--grace-period", "0")
		e.waitGone(name, 60*time.Second)
	}
	if c := e.census(t); !c.empty() {
		t.Errorf("left on the host after delete: %+v", c)
	}
}

// checkUsernsPause checks the pause of pod p, which has a user namespace of
// its own: the shim cloned it into that namespace, where it runs as 65535
// (a host ID of the pod's block, not the host's 65535) with no capability
// and no_new_privs; its container shares its user, network, IPC and UTS
// namespaces and sees the hostname and the sysctls the shim set in them
// (the IPC one writable by the namespace's root only).
func checkUsernsPause(t *testing.T, e *env, p *corev1.Pod) {
	t.Helper()
	pid := e.pausePid(t, p)
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	uid := regexp.MustCompile(`Uid:\t(\d+)\t`).FindSubmatch(status)
	if uid == nil || (string(uid[1]) != strconv.Itoa(1048576+65535) && string(uid[1]) != strconv.Itoa(1114112+65535)) {
		t.Errorf("pause of %s runs as host uid %q, want 65535 of the pod's block", p.Name, uid)
	}
	for _, want := range []string{"CapEff:\t0000000000000000\n", "CapPrm:\t0000000000000000\n", "NoNewPrivs:\t1\n"} {
		if !strings.Contains(string(status), want) {
			t.Errorf("pause of %s: status lacks %q:\n%s", p.Name, strings.TrimSpace(want), status)
		}
	}
	ctr := e.shimChild(t, p, "sleep")
	for _, ns := range []string{"user", "net", "ipc", "uts"} {
		if a, b := nsLink(pid, ns), nsLink(ctr, ns); a == "" || a != b || a == nsLink(1, ns) {
			t.Errorf("pod %s: %s namespace: pause %q, container %q, host %q; want the pause's own, shared", p.Name, ns, a, b, nsLink(1, ns))
		}
	}
	out := e.podctl("exec", p.Name, "--", "sh", "-c",
		"hostname; cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shm_rmid_forced")
	if want := p.Name + "\n80\n1\n"; out != want {
		t.Errorf("in pod %s: hostname and sysctls %q, want %q", p.Name, out, want)
	}
}
