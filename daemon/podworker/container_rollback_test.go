package podworker

import (
	"testing"
	"time"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
)

// A container start that fails after its rootfs is mounted undoes what it
// made (the shim's record, the rootfs and staged volumeMounts) at once, not
// at the pod's teardown; the next attempt then starts the container.
func TestFailedContainerStartRollsBack(t *testing.T) {
	for _, kind := range []podworkertest.FaultKind{podworkertest.FaultError, podworkertest.FaultPanic} {
		t.Run(kind.String(), func(t *testing.T) {
			w, h := newTestWorker(t, testPod("rollback"))
			h.Script("container.create", kind, 1)
			runWorker(t, w)
			eventually(t, "app running after a failed create", 10*time.Second, func() bool { return running(w, "app") })
			if n := h.Count("rootfs.unmount"); n != 1 {
				t.Errorf("rootfs unmounted %d times while the pod runs, want 1 (the failed start's)", n)
			}
			if n := h.Count("container.remove"); n != 1 {
				t.Errorf("instance removed from the shim %d times while the pod runs, want 1", n)
			}
			deleteAndWait(t, w, 0)
			checkNoLeaks(t, h)
		})
	}
}
