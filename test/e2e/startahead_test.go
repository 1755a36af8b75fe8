package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/runtime/shim/shimdir"
	"github.com/podd-dev/podd/test/testutil"
)

// Issue 13: a new pod's first containers are made while CNI ADD runs and
// released once the network is up. No program runs before then (each sees
// its own address on eth0 at its first instruction), the init container
// runs before the app (R30), /etc/hosts holds the pod's address (R91,
// completed in place after the containers bind-mounted it), and a
// container whose env takes status.podIP (never made ahead) gets it.
func TestStartAheadSeesTheNetworkAndItsAddress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: ahead}
spec:
  restartPolicy: Never
  volumes: [{name: shared, emptyDir: {}}]
  initContainers:
  - name: init
    image: busybox:latest
    volumeMounts: [{name: shared, mountPath: /shared}]
    command: ["sh", "-c", "ip -4 -o addr show eth0; touch /shared/init-done"]
  containers:
  - name: hosts
    image: busybox:latest
    volumeMounts: [{name: shared, mountPath: /shared}]
    command: ["sh", "-c", "ip -4 -o addr show eth0; test -e /shared/init-done && echo after-init; cat /etc/hosts"]
  - name: env
    image: busybox:latest
    env: [{name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]
    command: ["sh", "-c", "echo pod-ip=$POD_IP"]
`)
	p := e.waitForPhase("ahead", corev1.PodSucceeded, 60*time.Second)
	ip := p.Status.PodIP
	if ip == "" {
		t.Fatalf("no pod IP: %+v", p.Status)
	}
	checks := map[string][]string{
		"init":  {"inet " + ip + "/"},
		"hosts": {"inet " + ip + "/", "after-init", ip + "\tahead"},
		"env":   {"pod-ip=" + ip + "\n"},
	}
	for c, wants := range checks {
		out := e.podctl("logs", "ahead", "-c", c)
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("container %s: output lacks %q:\n%s", c, want, out)
			}
		}
	}
}

// aheadPod is a pod whose init container and app are made ahead.
func aheadPod(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata: {name: %s}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - {name: init, image: busybox:latest, command: ["true"]}
  containers:
  - {name: t, image: busybox:latest, command: ["sleep", "1000"]}
`, name)
}

// Pods deleted right after their apply, while their containers may be
// held, leave nothing on the host.
func TestStartAheadDeleteRightAfterApply(t *testing.T) {
	e := newEnv(t)
	var docs []string
	for i := range 4 {
		docs = append(docs, aheadPod(fmt.Sprintf("gone%d", i)))
	}
	e.apply(strings.Join(docs, "---\n"))
	for i := range 4 {
		e.podctl("delete", "pod", fmt.Sprintf("gone%d", i), "--grace-period", "0", "--wait=false")
	}
	for i := range 4 {
		e.waitGone(fmt.Sprintf("gone%d", i), 60*time.Second)
	}
	if c := e.census(t); !c.empty() {
		t.Fatalf("left after deletes right after the apply: %+v", c)
	}
}

// A daemon killed -9 while a container is held (its libcontainer exec
// fifo waiting) leaves nothing behind: the restarted daemon runs the pods
// (init first) and their delete leaves the host clean.
func TestStartAheadDaemonKill9WhileHeld(t *testing.T) {
	e := newEnv(t)
	var docs []string
	for i := range 4 {
		docs = append(docs, aheadPod(fmt.Sprintf("held%d", i)))
	}
	e.apply(strings.Join(docs, "---\n"))
	testutil.WaitFor(t, 30*time.Second, "a container waiting on its exec fifo", func() (bool, error) {
		m, _ := filepath.Glob(filepath.Join(e.runRoot, "pods", "*", shimdir.RuncDirName, "*", "exec.fifo"))
		return len(m) > 0, nil
	})
	e.killDaemon()
	e.restartDaemon()
	e.waitLog(reconcileRE, 30*time.Second)
	for i := range 4 {
		p := e.waitRunning(fmt.Sprintf("held%d", i), 60*time.Second)
		if st := p.Status.InitContainerStatuses; len(st) != 1 || st[0].State.Terminated == nil || st[0].State.Terminated.ExitCode != 0 {
			t.Errorf("held%d: init container %+v, want completed", i, st)
		}
	}
	for i := range 4 {
		e.podctl("delete", "pod", fmt.Sprintf("held%d", i), "--grace-period", "0")
	}
	if c := e.census(t); !c.empty() {
		t.Fatalf("left after the crash and the deletes: %+v", c)
	}
}
