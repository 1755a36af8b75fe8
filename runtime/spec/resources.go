package spec

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// Constants of the kubelet's cgroup arithmetic.
const (
	minShares     = 2
	maxShares     = 262144
	sharesPerCPU  = 1024
	milliPerCPU   = 1000
	quotaPeriodUs = 100000 // 100 ms
	minQuotaUs    = 1000   // 1 ms
)

// MilliCPUToShares converts a cpu request to cgroup cpu.shares: 1024 per
// CPU, at least 2 (also for no request), at most 262144.
func MilliCPUToShares(milliCPU int64) uint64 {
	if milliCPU == 0 {
		return minShares
	}
	shares := milliCPU * sharesPerCPU / milliPerCPU
	switch {
	case shares < minShares:
		return minShares
	case shares > maxShares:
		return maxShares
	}
	return uint64(shares)
}

// MilliCPUToQuota converts a cpu limit to a CFS quota over the 100 ms
// period, at least 1 ms; 0 means no limit.
func MilliCPUToQuota(milliCPU int64) int64 {
	if milliCPU == 0 {
		return 0
	}
	quota := milliCPU * quotaPeriodUs / milliPerCPU
	if quota < minQuotaUs {
		return minQuotaUs
	}
	return quota
}

// containerResources maps a container's requests and limits to cgroup
// values. A cpu limit without a request takes the limit as request, as the
// kubelet does.
func containerResources(c *corev1.Container) *shimv1.Resources {
	req := c.Resources.Requests.Cpu()
	lim := c.Resources.Limits.Cpu()
	milli := req.MilliValue()
	if req.IsZero() && !lim.IsZero() {
		milli = lim.MilliValue()
	}
	r := &shimv1.Resources{CpuShares: MilliCPUToShares(milli)}
	if q := MilliCPUToQuota(lim.MilliValue()); q > 0 {
		r.CpuQuotaUs = q
		r.CpuPeriodUs = quotaPeriodUs
	}
	if mem := c.Resources.Limits.Memory(); !mem.IsZero() {
		r.MemoryLimitBytes = mem.Value()
	}
	return r
}

// QOSClass returns the pod's QoS class (R93) by the kubelet's rules
// (GetPodQOS, which the API server stores in status.qosClass): only
// positive cpu and memory quantities count, a container's requests default
// to its limits, and init containers count like app containers.
// BestEffort: no container requests or limits any; Guaranteed: every
// container has cpu and memory limits, and the pod's summed requests equal
// its summed limits for each; Burstable otherwise. The daemon computes it
// once per pod and reports it in the pod's status.
func QOSClass(pod *corev1.Pod) corev1.PodQOSClass {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	guaranteed := true
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			r := cs[i].Resources
			for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				lim, hasLim := positive(r.Limits, name)
				req, hasReq := positive(r.Requests, name)
				if _, set := r.Requests[name]; !set && hasLim {
					req, hasReq = lim, true // the API server's defaulting
				}
				if hasReq {
					addTo(requests, name, req)
				}
				if hasLim {
					addTo(limits, name, lim)
				} else {
					guaranteed = false
				}
			}
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	for name, req := range requests {
		if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
			guaranteed = false
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

// positive returns list[name] when it is above zero.
func positive(list corev1.ResourceList, name corev1.ResourceName) (resource.Quantity, bool) {
	q, ok := list[name]
	return q, ok && q.Sign() > 0
}

// addTo adds q to sum[name].
func addTo(sum corev1.ResourceList, name corev1.ResourceName, q resource.Quantity) {
	total := q.DeepCopy()
	if prev, ok := sum[name]; ok {
		total.Add(prev)
	}
	sum[name] = total
}

// oomScoreAdj follows the kubelet's policy, never going below 0: this kind
// of host refuses to lower oom_score_adj even for root (so Guaranteed gets
// 0, the kubelet's -997 would fail the start), and 0 is "unset" to the shim.
// BestEffort gets 1000; Burstable 1000 - 1000*request/node memory, kept in
// [3, 999]; with no known node memory, 0.
func oomScoreAdj(pod *corev1.Pod, c *corev1.Container, allocatable corev1.ResourceList) int32 {
	switch QOSClass(pod) {
	case corev1.PodQOSGuaranteed:
		return 0
	case corev1.PodQOSBestEffort:
		return 1000
	}
	capacity := allocatable.Memory().Value()
	if capacity <= 0 {
		return 0
	}
	adj := 1000 - 1000*c.Resources.Requests.Memory().Value()/capacity
	switch {
	case adj < 3:
		return 3
	case adj >= 1000:
		return 999
	}
	return int32(adj)
}
