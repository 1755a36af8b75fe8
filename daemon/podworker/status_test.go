package podworker

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The pod's status carries its QoS class from the first snapshot on, set
// once by the daemon (the kubelet's rules, runtime/spec.QOSClass) and kept
// through every plan; a pod restored from a state without one gets it.
func TestStatusCarriesQOSClass_R93(t *testing.T) {
	limits := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")}
	for _, tc := range []struct {
		name  string
		res   corev1.ResourceRequirements
		state *State
		want  corev1.PodQOSClass
	}{
		{"nothing set", corev1.ResourceRequirements{}, nil, corev1.PodQOSBestEffort},
		{"limits only (requests default to them)", corev1.ResourceRequirements{Limits: limits}, nil, corev1.PodQOSGuaranteed},
		{"requests only", corev1.ResourceRequirements{Requests: limits}, nil, corev1.PodQOSBurstable},
		{"restored from a state without one", corev1.ResourceRequirements{Limits: limits}, &State{}, corev1.PodQOSGuaranteed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := testPod("qos")
			pod.Spec.Containers[0].Resources = tc.res
			w, h := newTestWorker(t, pod)
			if tc.state != nil {
				w = New(w.deps, pod, tc.state)
			}
			if got := w.Snapshot().Status.QOSClass; got != tc.want {
				t.Fatalf("first snapshot: qosClass %q, want %q", got, tc.want)
			}
			runWorker(t, w)
			eventually(t, "app running", 10*time.Second, func() bool { return running(w, "app") })
			if got := w.Snapshot().Status.QOSClass; got != tc.want {
				t.Errorf("running: qosClass %q, want %q", got, tc.want)
			}
			deleteAndWait(t, w, 0)
			checkNoLeaks(t, h)
		})
	}
}
