package volume

import (
	corev1 "k8s.io/api/core/v1"
)

// memoryVolumeSize is the size of a medium Memory emptyDir's tmpfs, as the
// kubelet computes it: the node's memory, lowered to the pod's memory limit
// when the pod has one, lowered to the volume's sizeLimit when that is
// smaller still. A tmpfs never holds more than the pod could use.
//
// The pages are charged to the memory cgroup of the process that writes
// them, a container of the pod, so the tmpfs also counts against the
// container's (and so the pod's) memory limit.
func memoryVolumeSize(pod *corev1.Pod, e *corev1.EmptyDirVolumeSource, nodeMemory int64) int64 {
	size := nodeMemory
	if lim := podMemoryLimit(pod); lim > 0 && (size <= 0 || lim <= size) {
		size = lim
	}
	if e.SizeLimit != nil {
		if v := e.SizeLimit.Value(); v > 0 && (size <= 0 || v <= size) {
			size = v
		}
	}
	return size
}

// podMemoryLimit is the pod's memory limit as the kubelet sets it on the
// pod cgroup: when every container (init containers too) has a memory
// limit, the larger of the app containers' sum and the largest init
// container's; otherwise 0, no limit.
func podMemoryLimit(pod *corev1.Pod) int64 {
	var sum, maxInit int64
	for _, c := range pod.Spec.Containers {
		lim := c.Resources.Limits.Memory().Value()
		if lim <= 0 {
			return 0
		}
		sum += lim
	}
	for _, c := range pod.Spec.InitContainers {
		lim := c.Resources.Limits.Memory().Value()
		if lim <= 0 {
			return 0
		}
		maxInit = max(maxInit, lim)
	}
	return max(sum, maxInit)
}
