package spec

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestMilliCPUToSharesAndQuota(t *testing.T) {
	shares := []struct {
		milli int64
		want  uint64
	}{{0, 2}, {1, 2}, {2, 2}, {100, 102}, {250, 256}, {1000, 1024}, {4000, 4096}, {1000000, 262144}}
	for _, tc := range shares {
		if got := MilliCPUToShares(tc.milli); got != tc.want {
			t.Errorf("MilliCPUToShares(%d) = %d, want %d", tc.milli, got, tc.want)
		}
	}
	quota := []struct{ milli, want int64 }{{0, 0}, {1, 1000}, {10, 1000}, {100, 10000}, {1500, 150000}}
	for _, tc := range quota {
		if got := MilliCPUToQuota(tc.milli); got != tc.want {
			t.Errorf("MilliCPUToQuota(%d) = %d, want %d", tc.milli, got, tc.want)
		}
	}
}

func res(kv ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i < len(kv); i += 2 {
		l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}

func TestContainerResources(t *testing.T) {
	cases := []struct {
		name      string
		req, lim  corev1.ResourceList
		shares    uint64
		quota     int64
		period    uint64
		memoryLim int64
	}{
		{"best effort", nil, nil, 2, 0, 0, 0},
		{"request only", res("cpu", "250m", "memory", "64Mi"), nil, 256, 0, 0, 0},
		{"limit only: request follows", nil, res("cpu", "500m", "memory", "128Mi"), 512, 50000, 100000, 128 << 20},
		{"both", res("cpu", "100m"), res("cpu", "2", "memory", "1Gi"), 102, 200000, 100000, 1 << 30},
	}
	for _, tc := range cases {
		c := &corev1.Container{Resources: corev1.ResourceRequirements{Requests: tc.req, Limits: tc.lim}}
		r := containerResources(c)
		if r.CpuShares != tc.shares || r.CpuQuotaUs != tc.quota || r.CpuPeriodUs != tc.period || r.MemoryLimitBytes != tc.memoryLim {
			t.Errorf("%s: got %+v", tc.name, r)
		}
	}
}

func TestQOSClass_R93(t *testing.T) {
	ctr := func(req, lim corev1.ResourceList) corev1.Container {
		return corev1.Container{Resources: corev1.ResourceRequirements{Requests: req, Limits: lim}}
	}
	cases := []struct {
		name       string
		init, apps []corev1.Container
		want       corev1.PodQOSClass
	}{
		{"nothing set", nil, []corev1.Container{ctr(nil, nil)}, corev1.PodQOSBestEffort},
		{"only ephemeral-storage", nil, []corev1.Container{ctr(nil, res("ephemeral-storage", "1Gi"))}, corev1.PodQOSBestEffort},
		{"limits equal requests", nil, []corev1.Container{ctr(res("cpu", "1", "memory", "1Gi"), res("cpu", "1", "memory", "1Gi"))}, corev1.PodQOSGuaranteed},
		{"limits only: requests default to them", nil, []corev1.Container{ctr(nil, res("cpu", "1", "memory", "1Gi"))}, corev1.PodQOSGuaranteed},
		{"same value spelled differently", nil, []corev1.Container{ctr(res("cpu", "1000m", "memory", "1Gi"), res("cpu", "1", "memory", "1024Mi"))}, corev1.PodQOSGuaranteed},
		{"request below limit", nil, []corev1.Container{ctr(res("cpu", "500m", "memory", "1Gi"), res("cpu", "1", "memory", "1Gi"))}, corev1.PodQOSBurstable},
		{"cpu limit only", nil, []corev1.Container{ctr(nil, res("cpu", "1"))}, corev1.PodQOSBurstable},
		{"one container without anything", nil, []corev1.Container{ctr(nil, res("cpu", "1", "memory", "1Gi")), ctr(nil, nil)}, corev1.PodQOSBurstable},
		{"init container counts", []corev1.Container{ctr(res("memory", "1Mi"), nil)}, []corev1.Container{ctr(nil, nil)}, corev1.PodQOSBurstable},
		{"init and app containers all at their limits", []corev1.Container{ctr(nil, res("cpu", "2", "memory", "2Gi"))}, []corev1.Container{ctr(res("cpu", "1", "memory", "1Gi"), res("cpu", "1", "memory", "1Gi"))}, corev1.PodQOSGuaranteed},
		{"init container without limits", []corev1.Container{ctr(nil, nil)}, []corev1.Container{ctr(nil, res("cpu", "1", "memory", "1Gi"))}, corev1.PodQOSBurstable},
		{"zero quantities are not set", nil, []corev1.Container{ctr(res("cpu", "0"), res("memory", "0"))}, corev1.PodQOSBestEffort},
		{"explicit zero request under a limit", nil, []corev1.Container{ctr(res("cpu", "0", "memory", "1Gi"), res("cpu", "1", "memory", "1Gi"))}, corev1.PodQOSBurstable},
		{"memory request only", nil, []corev1.Container{ctr(res("memory", "1Gi"), nil)}, corev1.PodQOSBurstable},
		{"cpu and memory limits, ephemeral-storage request", nil, []corev1.Container{ctr(res("ephemeral-storage", "1Gi"), res("cpu", "1", "memory", "1Gi"))}, corev1.PodQOSGuaranteed},
		{"two containers each at their limits", nil, []corev1.Container{ctr(nil, res("cpu", "1", "memory", "1Gi")), ctr(res("cpu", "2", "memory", "2Gi"), res("cpu", "2", "memory", "2Gi"))}, corev1.PodQOSGuaranteed},
	}
	for _, tc := range cases {
		pod := &corev1.Pod{Spec: corev1.PodSpec{InitContainers: tc.init, Containers: tc.apps}}
		if got := QOSClass(pod); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestOOMScoreAdj(t *testing.T) {
	node := res("memory", "1000Mi")
	cases := []struct {
		name     string
		req, lim corev1.ResourceList
		node     corev1.ResourceList
		want     int32
	}{
		{"best effort", nil, nil, node, 1000},
		{"guaranteed is never lowered here", res("cpu", "1", "memory", "1Gi"), res("cpu", "1", "memory", "1Gi"), node, 0},
		{"burstable quarter of memory", res("memory", "250Mi"), nil, node, 750},
		{"burstable whole memory", res("memory", "1000Mi"), res("memory", "2000Mi"), node, 3},
		{"burstable tiny request", res("cpu", "1m"), nil, node, 999},
		{"burstable without node memory", res("memory", "250Mi"), nil, nil, 0},
	}
	for _, tc := range cases {
		pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Resources: corev1.ResourceRequirements{Requests: tc.req, Limits: tc.lim}}}}}
		if got := oomScoreAdj(pod, &pod.Spec.Containers[0], tc.node); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
