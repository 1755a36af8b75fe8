package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/test/testutil"
)

const claimManifest = `apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`

// claimPod mounts claim data at /data, read-only at /ro and its "sub"
// directory at /sub, and runs script.
func claimPod(name, restart, script string) string {
	return `apiVersion: v1
kind: Pod
metadata: {name: ` + name + `}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: ` + restart + `
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: data}}
  - {name: ro, persistentVolumeClaim: {claimName: data, readOnly: true}}
  containers:
  - name: c
    image: busybox:latest
    command:
    - sh
    - -c
    - |
      ` + script + `
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: ro, mountPath: /ro}
    - {name: data, mountPath: /sub, subPath: sub}
`
}

// Issue 10 item 3: a pod naming a claim that does not exist waits with the
// claim named in its events and starts once the claim is applied; the
// claim's data survives the pod and a daemon kill -9; the claim cannot be deleted while a pod
// using it exists, and goes with its data once the pods are gone.
func TestPodsUsePersistentVolumeClaims(t *testing.T) {
	e := newEnv(t)
	writer := claimPod("writer", "Always", `echo persisted > /data/f && echo below > /sub/g && `+
		`if touch /ro/x 2>/dev/null; then echo rw > /data/ro; else echo ro > /data/ro; fi; `+
		`trap 'exit 0' TERM; sleep 1000 & wait`)
	e.apply(writer)
	testutil.WaitFor(t, testutil.Scaled(60*time.Second), "the missing claim named in the pod's events", func() (bool, error) {
		out := e.podctl("describe", "pod", "writer")
		return strings.Contains(out, `persistentvolumeclaim "data" not found`), nil
	})
	if p, err := e.pod("writer"); err != nil || p.Status.Phase != corev1.PodPending {
		t.Fatalf("pod with a missing claim: %v %+v", err, p)
	}
	e.apply(claimManifest)
	e.waitRunning("writer", testutil.Scaled(60*time.Second))

	volume := filepath.Join(e.root, "namespaces", "default", "volumes", "data")
	want := map[string]string{"f": "persisted\n", "sub/g": "below\n", "ro": "ro\n"}
	testutil.WaitFor(t, testutil.Scaled(30*time.Second), "the writer's files in the claim's directory", func() (bool, error) {
		for f, w := range want {
			b, err := os.ReadFile(filepath.Join(volume, f))
			if err != nil || string(b) != w {
				return false, err
			}
		}
		return true, nil
	})

	refused := func(pod string) {
		t.Helper()
		out, err := e.podctlErr("delete", "pvc", "data")
		if err == nil || !strings.Contains(out, `persistentvolumeclaims "data" is in use by pod "default/`+pod+`"`) {
			t.Fatalf("delete of the claim used by %s: err %v\n%s", pod, err, out)
		}
		if _, err := os.Stat(filepath.Join(volume, "f")); err != nil {
			t.Fatalf("the refused delete lost the data: %v", err)
		}
	}
	refused("writer")
	// A restarted daemon finds the claim, its data and the pod using it.
	e.killDaemon()
	e.restartDaemon()
	e.waitRunning("writer", testutil.Scaled(60*time.Second))
	refused("writer")
	e.podctl("delete", "pod", "writer")
	e.waitGone("writer", testutil.Scaled(30*time.Second))

	e.apply(claimPod("reader", "Never", `cat /data/f /sub/g`))
	e.waitForPhase("reader", corev1.PodSucceeded, testutil.Scaled(60*time.Second))
	if out := e.podctl("logs", "reader"); out != "persisted\nbelow\n" {
		t.Errorf("the new pod read %q, want the first pod's data", out)
	}
	refused("reader")
	e.podctl("delete", "pod", "reader")
	e.waitGone("reader", testutil.Scaled(30*time.Second))
	if out := e.podctl("delete", "pvc", "data"); !strings.Contains(out, `persistentvolumeclaim "data" deleted`) {
		t.Errorf("delete pvc output:\n%s", out)
	}
	if _, err := os.Stat(volume); !os.IsNotExist(err) {
		t.Errorf("claim directory after the claim's delete: %v", err)
	}
	if c := e.census(t); !c.empty() {
		t.Errorf("census not empty: %+v", c)
	}
}
