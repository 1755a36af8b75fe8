package daemon

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	"github.com/podd-dev/podd/runtime/cgroupusage"
	"github.com/podd-dev/podd/runtime/spec"
)

// Top's measurement window: the default, and the most a caller may ask.
const (
	defaultTopWindow = time.Second
	maxTopWindow     = time.Minute
)

// CgroupReader samples a cgroup's usage (cgroupusage.Reader on the host).
type CgroupReader interface {
	Read(path string) (cgroupusage.Sample, error)
}

// usageTarget is one cgroup top measures: a pod's, or one container's in it.
type usageTarget struct {
	pod       *corev1.Pod
	container string // empty: the pod's cgroup
	cgroup    string
}

// topPod is a pod as top sees it: its status, and the instance key (cgroup
// name under the pod cgroup) of each running container.
type topPod struct {
	pod       *corev1.Pod
	instances map[string]string
}

// topTargets lists the cgroups of the running pods among pods and of their
// running containers, in status order.
func topTargets(podCgroup func(uid string) string, pods []topPod) []usageTarget {
	var out []usageTarget
	for _, p := range pods {
		if p.pod.Status.Phase != corev1.PodRunning {
			continue
		}
		podCg := podCgroup(string(p.pod.UID))
		out = append(out, usageTarget{pod: p.pod, cgroup: podCg})
		for _, cs := range p.pod.Status.ContainerStatuses {
			if id := p.instances[cs.Name]; cs.State.Running != nil && id != "" {
				out = append(out, usageTarget{pod: p.pod, container: cs.Name, cgroup: spec.ContainerCgroup(podCg, id)})
			}
		}
	}
	return out
}

// topUsage samples every target, waits window, samples them again and
// returns the pods' usage in the order of pods; a target that could not be
// read both times (it stopped meanwhile) is left out, and so is a pod whose
// own cgroup was not.
func topUsage(ctx context.Context, r CgroupReader, targets []usageTarget, window time.Duration) ([]*poddv1.PodUsage, error) {
	first := make([]*cgroupusage.Sample, len(targets))
	for i, t := range targets {
		if s, err := r.Read(t.cgroup); err == nil {
			first[i] = &s
		}
	}
	timer := time.NewTimer(window)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
	}
	var out []*poddv1.PodUsage
	byPod := map[*corev1.Pod]*poddv1.PodUsage{}
	for i, t := range targets {
		if first[i] == nil {
			continue
		}
		s, err := r.Read(t.cgroup)
		if err != nil {
			continue
		}
		cpu, mem := cgroupusage.Millicores(*first[i], s), s.WorkingSet
		if t.container == "" {
			u := &poddv1.PodUsage{Namespace: t.pod.Namespace, Name: t.pod.Name, CpuMillicores: cpu, MemoryWorkingSetBytes: mem}
			byPod[t.pod] = u
			out = append(out, u)
			continue
		}
		if u := byPod[t.pod]; u != nil {
			u.Containers = append(u.Containers, &poddv1.ContainerUsage{Name: t.container, CpuMillicores: cpu, MemoryWorkingSetBytes: mem})
		}
	}
	return out, nil
}

// topWindow is the window a request asks for, defaulted and bounded.
func topWindow(millis int64) (time.Duration, error) {
	switch {
	case millis == 0:
		return defaultTopWindow, nil
	case millis < 0 || time.Duration(millis)*time.Millisecond > maxTopWindow:
		return 0, classed(ErrInvalidArgument, "window: %d ms is outside (0, %v]", millis, maxTopWindow)
	}
	return time.Duration(millis) * time.Millisecond, nil
}
