// Package downward computes downward API values of a pod (field paths such
// as metadata.name or metadata.labels['k'], and container resource fields)
// for env vars and downwardAPI volume files alike.
package downward

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// FieldValue returns the value of a fieldRef path for pod. status.* paths
// read pod.Status, which the caller fills (pod IPs, host IPs). Whole
// metadata.labels and metadata.annotations are formatted as in the kubelet's
// downwardAPI files: one `key="value"` line per key, sorted.
func FieldValue(pod *corev1.Pod, fieldPath string) (string, error) {
	if key, ok := subscript(fieldPath, "metadata.labels"); ok {
		return pod.Labels[key], nil
	}
	if key, ok := subscript(fieldPath, "metadata.annotations"); ok {
		return pod.Annotations[key], nil
	}
	switch fieldPath {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "metadata.labels":
		return FormatMap(pod.Labels), nil
	case "metadata.annotations":
		return FormatMap(pod.Annotations), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP":
		return pod.Status.PodIP, nil
	case "status.podIPs":
		return joinIPs(pod.Status.PodIPs), nil
	case "status.hostIP":
		return pod.Status.HostIP, nil
	case "status.hostIPs":
		ips := make([]string, len(pod.Status.HostIPs))
		for i, ip := range pod.Status.HostIPs {
			ips[i] = ip.IP
		}
		return strings.Join(ips, ","), nil
	}
	return "", fmt.Errorf("unsupported fieldPath %q", fieldPath)
}

func joinIPs(ips []corev1.PodIP) string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.IP
	}
	return strings.Join(out, ",")
}

func subscript(fieldPath, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(fieldPath, prefix+"['")
	if !ok || !strings.HasSuffix(rest, "']") {
		return "", false
	}
	return strings.TrimSuffix(rest, "']"), true
}

// FormatMap renders a map as sorted `key="value"` lines, values quoted like
// Go strings, with no trailing newline.
func FormatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = k + "=" + strconv.Quote(m[k])
	}
	return strings.Join(lines, "\n")
}

// ResourceValue returns a resourceFieldRef's value: the container's request
// or limit divided by the divisor and rounded up. An unset limit reads the
// node's allocatable amount (as the kubelet does); an unset request reads the
// limit (the Kubernetes default), else 0. container names the container when
// ref.ContainerName is empty.
func ResourceValue(pod *corev1.Pod, container string, ref *corev1.ResourceFieldSelector, allocatable corev1.ResourceList) (string, error) {
	name := ref.ContainerName
	if name == "" {
		name = container
	}
	c := findContainer(pod, name)
	if c == nil {
		return "", fmt.Errorf("resourceFieldRef %q: no container %q in pod %q", ref.Resource, name, pod.Name)
	}
	kind, res, ok := strings.Cut(ref.Resource, ".")
	if !ok {
		return "", fmt.Errorf("unsupported resource %q", ref.Resource)
	}
	var q resource.Quantity
	var set bool
	switch kind {
	case "limits":
		q, set = c.Resources.Limits[corev1.ResourceName(res)]
		if !set {
			q = allocatable[corev1.ResourceName(res)]
		}
	case "requests":
		q, set = c.Resources.Requests[corev1.ResourceName(res)]
		if !set {
			q = c.Resources.Limits[corev1.ResourceName(res)]
		}
	default:
		return "", fmt.Errorf("unsupported resource %q", ref.Resource)
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if res == string(corev1.ResourceCPU) {
		return strconv.FormatInt(int64(math.Ceil(float64(q.MilliValue())/float64(divisor.MilliValue()))), 10), nil
	}
	return strconv.FormatInt(int64(math.Ceil(float64(q.Value())/float64(divisor.Value()))), 10), nil
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i]
			}
		}
	}
	return nil
}
