package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// A sandbox whose shim fails to start after its network is up is rolled
// back (network, volumes) and retried; the daemon keeps serving (the undo
// steps once read the named results the failed return had set to nil, and
// the daemon died of it).
func TestFailedShimStartRollsBackTheSandbox(t *testing.T) {
	t.Parallel()
	bins := t.TempDir()
	if err := os.WriteFile(filepath.Join(bins, "podd-shim"), []byte("#!/bin/sh\necho no shim today >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	binDirBesideShim(t, bins)
	e := newEnv(t, "--bin-dir", bins)
	e.apply(`apiVersion: v1
kind: Pod
metadata: {name: noshim}
spec:
  containers:
  - {name: a, image: busybox:latest, command: ["sleep", "100"]}
`)
	e.waitForPod("noshim", 60*time.Second, "a FailedCreatePodSandBox event naming the shim", func(p *corev1.Pod) bool {
		out, _ := e.podctlErr("describe", "pod", "noshim")
		return strings.Contains(out, "start shim")
	})
	if e.cmd.ProcessState != nil {
		t.Fatalf("podd exited: %s", e.cmd.ProcessState)
	}
	e.podctl("delete", "pod", "noshim", "--grace-period", "0")
	e.waitGone("noshim", 60*time.Second)
	if c := e.census(t); !c.empty() {
		t.Fatalf("left after failed sandbox creations: %+v", c)
	}
}
