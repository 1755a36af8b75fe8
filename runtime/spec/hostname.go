package spec

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// PodHostname is the pod's hostname (R91): spec.hostname, else the pod name
// cut to 63 characters (a DNS label's limit) without a trailing '-' or '.'.
func PodHostname(pod *corev1.Pod) string {
	if pod.Spec.Hostname != "" {
		return pod.Spec.Hostname
	}
	name := pod.Name
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-.")
	}
	return name
}
