package printers

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	corev1 "k8s.io/api/core/v1"
)

// Indent levels of describe output, two spaces each.
const (
	level0 = iota
	level1
	level2
	level3
)

// maxAnnotationLen is the longest "key: value" annotation kept on one line.
const maxAnnotationLen = 140

// lastAppliedAnnotation is hidden from describe output, as kubectl does.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// prefixWriter writes describe lines indented by level into a tab writer
// laid out like kubectl's describe (tabs align the values).
type prefixWriter struct {
	tw  *tabwriter.Writer
	err error
}

func (w *prefixWriter) write(level int, format string, args ...any) {
	if w.err != nil {
		return
	}
	_, w.err = fmt.Fprintf(w.tw, strings.Repeat("  ", level)+format, args...)
}

func (w *prefixWriter) flush() {
	if w.err == nil {
		w.err = w.tw.Flush()
	}
}

// PodDescription is what `describe pod` shows about one pod.
type PodDescription struct {
	Pod *corev1.Pod
	// StaticSource is the manifest file of a static pod, empty otherwise.
	StaticSource string
	// Events are the pod's events; nil prints "Events: <none>".
	Events []*poddv1.Event
	// Now is the reference time for ages.
	Now time.Time
}

// DescribePod writes kubectl-style `describe pod` output for d to out.
func DescribePod(out io.Writer, d PodDescription) error {
	pod := d.Pod
	w := &prefixWriter{tw: tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)}
	w.write(level0, "Name:\t%s\n", pod.Name)
	w.write(level0, "Namespace:\t%s\n", pod.Namespace)
	if pod.Spec.Priority != nil {
		w.write(level0, "Priority:\t%d\n", *pod.Spec.Priority)
	}
	if pod.Spec.PriorityClassName != "" {
		w.write(level0, "Priority Class Name:\t%s\n", pod.Spec.PriorityClassName)
	}
	if pod.Spec.RuntimeClassName != nil && *pod.Spec.RuntimeClassName != "" {
		w.write(level0, "Runtime Class Name:\t%s\n", *pod.Spec.RuntimeClassName)
	}
	if pod.Spec.ServiceAccountName != "" {
		w.write(level0, "Service Account:\t%s\n", pod.Spec.ServiceAccountName)
	}
	if pod.Spec.NodeName == "" {
		w.write(level0, "Node:\t<none>\n")
	} else {
		w.write(level0, "Node:\t%s\n", pod.Spec.NodeName+"/"+pod.Status.HostIP)
	}
	if pod.Status.StartTime != nil {
		w.write(level0, "Start Time:\t%s\n", pod.Status.StartTime.Format(time.RFC1123Z))
	}
	writeLabels(w, "Labels", pod.Labels)
	writeAnnotations(w, "Annotations", pod.Annotations)
	if pod.DeletionTimestamp != nil && !isTerminalPhase(pod.Status.Phase) {
		w.write(level0, "Status:\tTerminating (lasts %s)\n", Age(*pod.DeletionTimestamp, d.Now))
		if pod.DeletionGracePeriodSeconds != nil {
			w.write(level0, "Termination Grace Period:\t%ds\n", *pod.DeletionGracePeriodSeconds)
		}
	} else {
		w.write(level0, "Status:\t%s\n", pod.Status.Phase)
	}
	if pod.Status.Reason != "" {
		w.write(level0, "Reason:\t%s\n", pod.Status.Reason)
	}
	if pod.Status.Message != "" {
		w.write(level0, "Message:\t%s\n", pod.Status.Message)
	}
	w.write(level0, "IP:\t%s\n", pod.Status.PodIP)
	if len(pod.Status.PodIPs) == 0 {
		w.write(level0, "IPs:\t<none>\n")
	} else {
		w.write(level0, "IPs:\n")
		for _, ip := range pod.Status.PodIPs {
			w.write(level1, "IP:\t%s\n", ip.IP)
		}
	}
	if d.StaticSource != "" {
		w.write(level0, "Static:\t%s\n", d.StaticSource)
	}
	if len(pod.Spec.InitContainers) > 0 {
		writeContainers(w, "Init Containers", pod, pod.Spec.InitContainers, pod.Status.InitContainerStatuses)
	}
	writeContainers(w, "Containers", pod, pod.Spec.Containers, pod.Status.ContainerStatuses)
	if len(pod.Status.Conditions) > 0 {
		w.write(level0, "Conditions:\n  Type\tStatus\n")
		for _, c := range pod.Status.Conditions {
			w.write(level1, "%v \t%v \n", c.Type, c.Status)
		}
	}
	writeVolumes(w, pod.Spec.Volumes)
	w.write(level0, "QoS Class:\t%s\n", qosClass(pod))
	writeLabels(w, "Node-Selectors", pod.Spec.NodeSelector)
	writeTolerations(w, pod.Spec.Tolerations)
	writeEvents(w, d.Events, d.Now)
	w.flush()
	return w.err
}

// writeEvents writes the Events table, aligned on its own.
func writeEvents(w *prefixWriter, events []*poddv1.Event, now time.Time) {
	if len(events) == 0 {
		w.write(level0, "Events:\t<none>\n")
		return
	}
	w.flush()
	sorted := append([]*poddv1.Event(nil), events...)
	SortEvents(sorted)
	w.write(level0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
	w.write(level1, "----\t------\t----\t----\t-------\n")
	for _, e := range sorted {
		w.write(level1, "%v\t%v\t%s\t%v\t%v\n", e.GetType(), e.GetReason(), EventInterval(e, now),
			EventSource, strings.TrimSpace(e.GetMessage()))
	}
}

func writeLabels(w *prefixWriter, title string, labels map[string]string) {
	w.write(level0, "%s:\t", title)
	if len(labels) == 0 {
		w.write(level0, "<none>\n")
		return
	}
	for i, k := range sortedKeys(labels) {
		if i != 0 {
			w.write(level0, "\t")
		}
		w.write(level0, "%s=%s\n", k, labels[k])
	}
}

func writeAnnotations(w *prefixWriter, title string, annotations map[string]string) {
	w.write(level0, "%s:\t", title)
	keys := sortedKeys(annotations)
	keys = deleteKey(keys, lastAppliedAnnotation)
	if len(keys) == 0 {
		w.write(level0, "<none>\n")
		return
	}
	for i, k := range keys {
		if i != 0 {
			w.write(level0, "\t")
		}
		value := strings.TrimSuffix(annotations[k], "\n")
		if len(value)+len(k)+2 > maxAnnotationLen || strings.Contains(value, "\n") {
			w.write(level0, "%s:\n", k)
			for _, s := range strings.Split(value, "\n") {
				w.write(level0, "\t  %s\n", shorten(s, maxAnnotationLen-2))
			}
		} else {
			w.write(level0, "%s: %s\n", k, value)
		}
	}
}

func writeTolerations(w *prefixWriter, tolerations []corev1.Toleration) {
	w.write(level0, "Tolerations:\t")
	if len(tolerations) == 0 {
		w.write(level0, "<none>\n")
		return
	}
	sorted := append([]corev1.Toleration(nil), tolerations...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Key < sorted[j].Key })
	for i, t := range sorted {
		if i != 0 {
			w.write(level0, "\t")
		}
		s := t.Key
		if t.Value != "" {
			s += "=" + t.Value
		}
		if t.Effect != "" {
			s += ":" + string(t.Effect)
		}
		if t.Operator == corev1.TolerationOpExists && t.Value == "" {
			if t.Key != "" || t.Effect != "" {
				s += " "
			}
			s += "op=Exists"
		}
		if t.TolerationSeconds != nil {
			s += fmt.Sprintf(" for %ds", *t.TolerationSeconds)
		}
		w.write(level0, "%s\n", s)
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func deleteKey(keys []string, key string) []string {
	out := keys[:0]
	for _, k := range keys {
		if k != key {
			out = append(out, k)
		}
	}
	return out
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// qosClass is the QoS class the daemon reports in the pod's status; the
// client never computes it (the daemon's rules are the kubelet's).
func qosClass(pod *corev1.Pod) string {
	if pod.Status.QOSClass == "" {
		return "<unknown>"
	}
	return string(pod.Status.QOSClass)
}
