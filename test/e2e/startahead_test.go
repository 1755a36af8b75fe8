package e2e

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
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
