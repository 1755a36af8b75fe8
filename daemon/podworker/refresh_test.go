package podworker

import (
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/runtime/spec"
)

// fakeObjects is a namespace's ConfigMaps and Secrets that a test edits.
type fakeObjects struct {
	mu      sync.Mutex
	secrets map[string]*corev1.Secret
	cms     map[string]*corev1.ConfigMap
}

func (f *fakeObjects) ConfigMap(name string) (*corev1.ConfigMap, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cm, ok := f.cms[name]
	return cm.DeepCopy(), ok
}

func (f *fakeObjects) Secret(name string) (*corev1.Secret, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.secrets[name]
	return s.DeepCopy(), ok
}

func (f *fakeObjects) setSecret(name string, s *corev1.Secret) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[name] = s
}

func waitingState(w *Worker, name string) *corev1.ContainerStateWaiting {
	for _, cs := range w.Snapshot().Status.ContainerStatuses {
		if cs.Name == name {
			return cs.State.Waiting
		}
	}
	return nil
}

// A container whose env names a Secret that does not exist waits with
// CreateContainerConfigError naming the object and key; once the Secret is
// applied (ObjectChanged) it starts. No event shows the secret's value.
func TestMissingEnvObjectIsCreateContainerConfigErrorUntilApplied(t *testing.T) {
	pod := testPod("envref")
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}}}
	h := podworkertest.NewHost()
	deps := testDeps(t, h)
	objs := &fakeObjects{secrets: map[string]*corev1.Secret{}, cms: map[string]*corev1.ConfigMap{}}
	deps.Objects = func(string) spec.Objects { return objs }
	if err := diskStore(deps).SavePod(pod); err != nil {
		t.Fatal(err)
	}
	w := New(deps, pod, nil)
	runWorker(t, w)
	eventually(t, "CreateContainerConfigError naming the secret", 10*time.Second, func() bool {
		ws := waitingState(w, "app")
		return ws != nil && ws.Reason == "CreateContainerConfigError" && strings.Contains(ws.Message, `secret "db" not found`)
	})
	objs.setSecret("db", &corev1.Secret{Data: map[string][]byte{"other": []byte("x")}})
	w.ObjectChanged()
	eventually(t, "the missing key named", 10*time.Second, func() bool {
		ws := waitingState(w, "app")
		return ws != nil && strings.Contains(ws.Message, "couldn't find key password in Secret default/db")
	})
	objs.setSecret("db", &corev1.Secret{Data: map[string][]byte{"password": []byte("hunter2")}})
	w.ObjectChanged()
	eventually(t, "container app running", 10*time.Second, func() bool { return running(w, "app") })
	for _, e := range w.deps.Events.Pod(w.uid) {
		if strings.Contains(e.Message, "hunter2") {
			t.Errorf("event shows the secret: %+v", e)
		}
	}
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)
}

// ObjectChanged prepares the volumes of a running pod with a configMap
// volume again (the update reaches them); a pod without such volumes is
// only woken.
func TestObjectChangedRefreshesProjectedVolumes(t *testing.T) {
	pod := testPod("refresh")
	pod.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}}
	w, h := newTestWorker(t, pod)
	runWorker(t, w)
	eventually(t, "container app running", 10*time.Second, func() bool { return running(w, "app") })
	n := h.Count("volumes.prepare")
	w.ObjectChanged()
	eventually(t, "volumes prepared again", 10*time.Second, func() bool { return h.Count("volumes.prepare") > n })

	// A failed refresh keeps the pod running and is its event.
	h.Script("volumes.prepare", podworkertest.FaultError, 1)
	w.ObjectChanged()
	eventually(t, "FailedMount event", 10*time.Second, func() bool { return hasEvent(w, corev1.EventTypeWarning, "FailedMount") })
	if !running(w, "app") {
		t.Error("a failed refresh stopped the container")
	}
	deleteAndWait(t, w, 0)
	checkNoLeaks(t, h)

	plain, h2 := newTestWorker(t, testPod("plain"))
	runWorker(t, plain)
	eventually(t, "container app running", 10*time.Second, func() bool { return running(plain, "app") })
	n = h2.Count("volumes.prepare")
	plain.ObjectChanged()
	plain.mu.Lock()
	refresh := plain.refresh
	plain.mu.Unlock()
	if refresh || h2.Count("volumes.prepare") != n {
		t.Error("a pod without projected volumes was asked to refresh them")
	}
}
