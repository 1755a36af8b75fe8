package manifest

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Limits on one pod, so that no pod can break the API or the daemon for
// every other one.
const (
	// MaxPodBytes bounds a pod's JSON encoding: etcd's default request
	// limit, the size the API server lets one object reach.
	MaxPodBytes = 1536 << 10
	// MaxContainers bounds init plus app containers: each is a process
	// tree, a log and a set of probes on this one host.
	MaxContainers = 250
)

// validateLimits refuses a pod that is too big, naming the field that
// makes it so.
func validateLimits(pod *corev1.Pod) field.ErrorList {
	var errs field.ErrorList
	if n := len(pod.Spec.InitContainers) + len(pod.Spec.Containers); n > MaxContainers {
		p := field.NewPath("spec", "containers")
		if len(pod.Spec.InitContainers) > len(pod.Spec.Containers) {
			p = field.NewPath("spec", "initContainers")
		}
		errs = append(errs, field.TooMany(p, n, MaxContainers))
	}
	data, err := json.Marshal(pod)
	if err != nil {
		return append(errs, field.InternalError(nil, fmt.Errorf("encode pod: %w", err)))
	}
	if len(data) > MaxPodBytes {
		p, size := largestPart(pod)
		errs = append(errs, field.Invalid(p, fmt.Sprintf("<%d bytes>", size),
			fmt.Sprintf("the pod is %d bytes encoded, must have at most %d bytes", len(data), MaxPodBytes)))
	}
	return errs
}

// largestPart finds the field that contributes most to a pod's size.
func largestPart(pod *corev1.Pod) (*field.Path, int) {
	best, bestSize := field.NewPath("metadata"), 0
	consider := func(p *field.Path, v any) {
		if b, err := json.Marshal(v); err == nil && len(b) > bestSize {
			best, bestSize = p, len(b)
		}
	}
	consider(field.NewPath("metadata", "labels"), pod.Labels)
	consider(field.NewPath("metadata", "annotations"), pod.Annotations)
	consider(field.NewPath("spec", "volumes"), pod.Spec.Volumes)
	for kind, cs := range map[string][]corev1.Container{"initContainers": pod.Spec.InitContainers, "containers": pod.Spec.Containers} {
		for i := range cs {
			cp := field.NewPath("spec", kind).Index(i)
			c := cs[i]
			consider(cp.Child("env"), c.Env)
			consider(cp.Child("envFrom"), c.EnvFrom)
			consider(cp.Child("command"), c.Command)
			consider(cp.Child("args"), c.Args)
			c.Env, c.EnvFrom, c.Command, c.Args = nil, nil, nil, nil
			consider(cp, c)
		}
	}
	if total := len(pod.Spec.InitContainers) + len(pod.Spec.Containers); total > 1 {
		// Many small containers: the list is the culprit.
		all := append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...)
		if b, err := json.Marshal(all); err == nil && len(b) > 2*bestSize {
			return field.NewPath("spec", "containers"), len(b)
		}
	}
	return best, bestSize
}
