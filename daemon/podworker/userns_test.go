package podworker

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/userns"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/idmap"
	"github.com/podd-dev/podd/runtime/spec"
)

// A pod with hostUsers: false gets a block of the daemon's range, kept in
// its state: its pause creates the user namespace with it, its containers
// join it with every volume idmapped; the block is free again once the pod
// is removed.
func TestHostUsersFalse(t *testing.T) {
	pod := testPod("userns")
	no := false
	pod.Spec.HostUsers = &no
	pod.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	w, h := newTestWorker(t, pod)
	ids, err := userns.New(1<<20, 2*userns.DefaultSize, userns.DefaultSize)
	if err != nil {
		t.Fatal(err)
	}
	w.deps.UserNS = ids
	runWorker(t, w)
	eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })

	want := idmap.Mappings{UIDs: []idmap.Range{{ContainerID: 0, HostID: 1 << 20, Size: userns.DefaultSize}}}
	want.GIDs = want.UIDs
	st := &State{}
	if _, err := diskStore(w.deps).LoadState(w.uid, st); err != nil || st.UserNS == nil || !st.UserNS.Equal(want) {
		t.Fatalf("persisted user namespace %v (%v), want %v", st.UserNS, err, want)
	}
	var pause, app *shimv1.ContainerConfig
	for _, c := range h.Configs() {
		if c.GetId() == spec.PauseID {
			pause = c
		} else {
			app = c
		}
	}
	if len(pause.GetUidMappings()) != 1 || pause.GetUidMappings()[0].GetHostId() != 1<<20 {
		t.Errorf("pause mappings %v, want the pod's block", pause.GetUidMappings())
	}
	joins := false
	for _, ns := range app.GetNamespaces() {
		joins = joins || (ns.GetType() == "user" && ns.GetContainer() == spec.PauseID)
	}
	if !joins {
		t.Errorf("app namespaces %v: not the pause's user namespace", app.GetNamespaces())
	}
	for _, m := range app.GetMounts() {
		if m.GetDestination() == "/data" && (len(m.GetUidMappings()) != 1 || m.GetUidMappings()[0].GetHostId() != 1<<20) {
			t.Errorf("/data mount %v is not idmapped with the pod's block", m)
		}
	}

	deleteAndWait(t, w, 0)
	if m, err := ids.Allocate("next"); err != nil || !m.Equal(want) {
		t.Errorf("after the pod is removed, the next pod gets %v (%v), want the freed block", m, err)
	}
}

// Without a range, a pod with hostUsers: false gets no sandbox; the
// failure names it.
func TestHostUsersFalseWithoutRange(t *testing.T) {
	pod := testPod("nouserns")
	no := false
	pod.Spec.HostUsers = &no
	w, h := newTestWorker(t, pod)
	runWorker(t, w)
	eventually(t, "sandbox failure", 10*time.Second, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.state.SandboxFailure != nil
	})
	w.mu.Lock()
	msg := w.state.SandboxFailure.Message
	w.mu.Unlock()
	if want := userns.ErrNoRange.Error(); !strings.Contains(msg, want) {
		t.Errorf("sandbox failure %q, want it to say %q", msg, want)
	}
	if n := h.Count("shim.launch"); n != 0 {
		t.Errorf("%d shims launched", n)
	}
}
