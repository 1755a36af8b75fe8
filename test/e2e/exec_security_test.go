package e2e

import (
	"strings"
	"testing"
	"time"
)

// execSecurityFields are the /proc/<pid>/status lines an exec'd process
// must share with its container's main process: seccomp mode and filter
// count, every capability set, no_new_privs and the credentials.
var execSecurityFields = []string{
	"Uid:", "Gid:", "Groups:", "NoNewPrivs:", "Seccomp:", "Seccomp_filters:",
	"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:",
}

// Issue 13: whatever makes an exec cheaper must leave the exec'd process
// exactly as confined as the container's own: the same seccomp filter,
// capabilities, no_new_privs, user and groups, cgroup, namespaces and
// rlimits as the main process (pid 1 of the container's PID namespace).
// One container runs with the defaults, one locked down (no privilege
// escalation, a non-root user, all capabilities dropped but one).
func TestExecRunsWithTheContainersSecurity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: xsec}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: defaults
    image: busybox:latest
    command: ["sleep", "1000000"]
  - name: locked
    image: busybox:latest
    command: ["sleep", "1000000"]
    securityContext:
      allowPrivilegeEscalation: false
      runAsUser: 1000
      runAsGroup: 1000
      capabilities: {drop: ["ALL"], add: ["NET_BIND_SERVICE"]}
`)
	e.waitRunning("xsec", 60*time.Second)
	for _, c := range []string{"defaults", "locked"} {
		main := statusFields(e.execIn("xsec", c, "cat", "/proc/1/status"))
		exec := statusFields(e.execIn("xsec", c, "cat", "/proc/self/status"))
		for _, f := range execSecurityFields {
			if _, ok := main[f]; !ok {
				t.Errorf("container %s: no %s line in the main process's status", c, f)
			} else if exec[f] != main[f] {
				t.Errorf("container %s: exec'd process %s %q, main process %q", c, f, exec[f], main[f])
			}
		}
		if main["Seccomp:"] != "2" {
			t.Errorf("container %s: seccomp mode %q, want 2 (the default filter)", c, main["Seccomp:"])
		}
		for _, file := range []string{"cgroup", "limits"} {
			if m, x := e.execIn("xsec", c, "cat", "/proc/1/"+file), e.execIn("xsec", c, "cat", "/proc/self/"+file); m != x {
				t.Errorf("container %s: exec'd process /proc/self/%s\n%s\nmain process\n%s", c, file, x, m)
			}
		}
		ns := "for n in cgroup ipc mnt net pid uts; do echo $n $(readlink /proc/$P/ns/$n); done"
		m := e.execIn("xsec", c, "sh", "-c", strings.ReplaceAll(ns, "$P", "1"))
		x := e.execIn("xsec", c, "sh", "-c", strings.ReplaceAll(ns, "$P", "self"))
		if m != x || !strings.Contains(m, "pid:[") {
			t.Errorf("container %s: exec'd process namespaces\n%s\nmain process\n%s", c, x, m)
		}
	}
	locked := statusFields(e.execIn("xsec", "locked", "cat", "/proc/self/status"))
	if locked["NoNewPrivs:"] != "1" || locked["CapBnd:"] != "0000000000000400" || !strings.HasPrefix(locked["Uid:"], "1000") {
		t.Errorf("locked container's exec: NoNewPrivs %q CapBnd %q Uid %q, want 1, NET_BIND_SERVICE only, 1000",
			locked["NoNewPrivs:"], locked["CapBnd:"], locked["Uid:"])
	}
}

// statusFields maps each "Name:" of a /proc/<pid>/status to its value with
// runs of white space made single spaces.
func statusFields(status string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(status, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasSuffix(f[0], ":") {
			out[f[0]] = strings.Join(f[1:], " ")
		}
	}
	return out
}
