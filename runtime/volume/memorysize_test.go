package volume

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func memContainer(limit string) corev1.Container {
	c := corev1.Container{Name: "c"}
	if limit != "" {
		c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(limit)}
	}
	return c
}

// Issue 7.7: a medium Memory emptyDir is sized like the kubelet's: the
// pod's memory limit, or the node's memory, and sizeLimit when smaller.
func TestMemoryVolumeSize(t *testing.T) {
	const node = 8 << 30
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	for _, tc := range []struct {
		name       string
		containers []corev1.Container
		inits      []corev1.Container
		sizeLimit  *resource.Quantity
		want       int64
	}{
		{name: "no limits, no sizeLimit: the node's memory", containers: []corev1.Container{memContainer("")}, want: node},
		{name: "one container limited: its limit", containers: []corev1.Container{memContainer("64Mi")}, want: 64 << 20},
		{name: "every container limited: the sum", containers: []corev1.Container{memContainer("64Mi"), memContainer("32Mi")}, want: 96 << 20},
		{name: "one container unlimited: the node's memory", containers: []corev1.Container{memContainer("64Mi"), memContainer("")}, want: node},
		{name: "an init container bigger than the sum", containers: []corev1.Container{memContainer("64Mi")}, inits: []corev1.Container{memContainer("128Mi")}, want: 128 << 20},
		{name: "an unlimited init container: the node's memory", containers: []corev1.Container{memContainer("64Mi")}, inits: []corev1.Container{memContainer("")}, want: node},
		{name: "sizeLimit below the pod limit wins", containers: []corev1.Container{memContainer("64Mi")}, sizeLimit: q("16Mi"), want: 16 << 20},
		{name: "sizeLimit above the pod limit: the pod limit", containers: []corev1.Container{memContainer("64Mi")}, sizeLimit: q("1Gi"), want: 64 << 20},
		{name: "sizeLimit above the node's memory: the node's memory", containers: []corev1.Container{memContainer("")}, sizeLimit: q("16Gi"), want: node},
		{name: "pod limit above the node's memory: the node's memory", containers: []corev1.Container{memContainer("16Gi")}, want: node},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: tc.containers, InitContainers: tc.inits}}
			got := memoryVolumeSize(pod, &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: tc.sizeLimit}, node)
			if got != tc.want {
				t.Errorf("size %d, want %d", got, tc.want)
			}
		})
	}
}
