package e2e

import (
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Nothing leaks (DESIGN non-negotiables): after delete, and after creates
// that fail half-way (unknown image, bad hostPath type), no netns pin, mount,
// cgroup, IP reservation, veth or shim is left.
func TestNothingLeftAfterDeleteAndFailedCreate(t *testing.T) {
	e := newEnv(t)
	if c := e.census(t); !c.empty() {
		t.Fatalf("census not empty at start: %+v", c)
	}
	e.apply(webPod)
	e.waitRunning("web", 60*time.Second)
	if c := e.census(t); len(c.NetnsPins) != 1 || len(c.IPs) != 1 || len(c.Veths) != 1 || len(c.Shims) != 1 {
		t.Fatalf("census of a running pod: %+v", c)
	}
	// The shim runs in a cgroup of its own, outside the daemon's and the pod's.
	p := e.waitRunning("web", 5*time.Second)
	c := e.census(t)
	cg, _ := os.ReadFile("/proc/" + c.Shims[0] + "/cgroup")
	if want := e.cgroupParent + "/shims/pod" + string(p.UID); !strings.Contains(string(cg), want) {
		t.Errorf("shim cgroups:\n%s\nwant %s", cg, want)
	}
	e.podctl("delete", "pod", "web", "--grace-period", "1")
	if c := e.census(t); !c.empty() {
		t.Fatalf("left after delete: %+v", c)
	}

	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: noimage}
spec:
  containers:
  - {name: a, image: "nosuch.example/none:1", imagePullPolicy: Never}
`)
	p = e.waitForPod("noimage", 30*time.Second, "waiting ErrImageNeverPull", func(p *corev1.Pod) bool {
		cs := containerStatus(p, "a")
		return cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason == "ErrImageNeverPull"
	})
	if msg := containerStatus(p, "a").State.Waiting.Message; !strings.Contains(msg, "nosuch.example/none:1") {
		t.Fatalf("ErrImageNeverPull message %q does not name the image", msg)
	}
	e.podctl("delete", "pod", "noimage", "--grace-period", "0")

	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: badhostpath}
spec:
  volumes:
  - name: h
    hostPath: {path: /nonexistent/podd-test-dir, type: Directory}
  containers:
  - name: a
    image: busybox:latest
    command: ["sleep", "100"]
    volumeMounts: [{name: h, mountPath: /h}]
`)
	e.waitForPod("badhostpath", 30*time.Second, "a FailedCreatePodSandBox event or waiting reason", func(p *corev1.Pod) bool {
		out, _ := e.podctlErr("describe", "pod", "badhostpath")
		return strings.Contains(out, "/nonexistent/podd-test-dir")
	})
	e.podctl("delete", "pod", "badhostpath", "--grace-period", "0")
	if c := e.census(t); !c.empty() {
		t.Fatalf("left after failed creates: %+v", c)
	}
}
