package printers

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// PodColumns selects the optional columns of the pod table.
type PodColumns struct {
	// Wide adds IP, NODE, NOMINATED NODE and READINESS GATES (-o wide).
	Wide bool
	// Namespace adds NAMESPACE as the first column (-A).
	Namespace bool
}

// PodHeader returns the header row of the pod table.
func PodHeader(cols PodColumns) []string {
	var h []string
	if cols.Namespace {
		h = append(h, "NAMESPACE")
	}
	h = append(h, "NAME", "READY", "STATUS", "RESTARTS", "AGE")
	if cols.Wide {
		h = append(h, "IP", "NODE", "NOMINATED NODE", "READINESS GATES", "SOURCE")
	}
	return h
}

// PodRow returns pod's row of the pod table at time now.
func PodRow(pod *corev1.Pod, now time.Time, cols PodColumns) []string {
	s := SummarizePod(pod, now)
	var row []string
	if cols.Namespace {
		row = append(row, pod.Namespace)
	}
	row = append(row, pod.Name, s.Ready, s.Status, s.Restarts, Age(pod.CreationTimestamp, now))
	if cols.Wide {
		ip := "<none>"
		if len(pod.Status.PodIPs) > 0 && pod.Status.PodIPs[0].IP != "" {
			ip = pod.Status.PodIPs[0].IP
		} else if pod.Status.PodIP != "" {
			ip = pod.Status.PodIP
		}
		row = append(row, ip, orNone(pod.Spec.NodeName), orNone(pod.Status.NominatedNodeName), readinessGates(pod), source(pod))
	}
	return row
}

// StaticSourceAnnotation is set by the daemon on static pods: the manifest
// file they come from.
const StaticSourceAnnotation = "podd.dev/static-source"

// source marks static pods in wide output: "static:<file>", else "api".
func source(pod *corev1.Pod) string {
	if f := pod.Annotations[StaticSourceAnnotation]; f != "" {
		return "static:" + f
	}
	return "api"
}

func readinessGates(pod *corev1.Pod) string {
	if len(pod.Spec.ReadinessGates) == 0 {
		return "<none>"
	}
	n := 0
	for _, g := range pod.Spec.ReadinessGates {
		if hasCondition(pod.Status.Conditions, g.ConditionType) {
			n++
		}
	}
	return fmt.Sprintf("%d/%d", n, len(pod.Spec.ReadinessGates))
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
