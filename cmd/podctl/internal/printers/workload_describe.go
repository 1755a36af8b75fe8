package printers

import (
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const describeTime = "Mon, 02 Jan 2006 15:04:05 -0700"

// describeDaemonSet writes kubectl's describe of a DaemonSet: its
// selectors, the node counts, its strategy, pod template and conditions
// (podd's NodeMatched says why a node runs no pod).
func describeDaemonSet(w *prefixWriter, ds *appsv1.DaemonSet) {
	w.write(level0, "Selector:\t%s\n", metav1.FormatLabelSelector(ds.Spec.Selector))
	w.write(level0, "Node-Selector:\t%s\n", nodeSelector(ds.Spec.Template.Spec.NodeSelector))
	writeLabels(w, "Labels", ds.Labels)
	writeAnnotations(w, "Annotations", ds.Annotations)
	s := ds.Status
	w.write(level0, "Desired Number of Nodes Scheduled: %d\n", s.DesiredNumberScheduled)
	w.write(level0, "Current Number of Nodes Scheduled: %d\n", s.CurrentNumberScheduled)
	w.write(level0, "Number of Nodes Scheduled with Up-to-date Pods: %d\n", s.UpdatedNumberScheduled)
	w.write(level0, "Number of Nodes Scheduled with Available Pods: %d\n", s.NumberAvailable)
	w.write(level0, "Number of Nodes Misscheduled: %d\n", s.NumberMisscheduled)
	w.write(level0, "Number of Nodes Ready: %d\n", s.NumberReady)
	w.write(level0, "UpdateStrategy:\t%s\n", ds.Spec.UpdateStrategy.Type)
	if ru := ds.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.MaxSurge != nil && ru.MaxUnavailable != nil {
		w.write(level0, "RollingUpdateStrategy:\t%s max unavailable, %s max surge\n", ru.MaxUnavailable.String(), ru.MaxSurge.String())
	}
	w.write(level0, "Pod Template:\n")
	writeLabels(w, "  Labels", ds.Spec.Template.Labels)
	pod := &corev1.Pod{ObjectMeta: ds.Spec.Template.ObjectMeta, Spec: ds.Spec.Template.Spec}
	writeContainers(w, "  Containers", pod, ds.Spec.Template.Spec.Containers, nil)
	if len(s.Conditions) > 0 {
		w.write(level0, "Conditions:\n")
		w.write(level1, "Type\tStatus\tReason\tMessage\n")
		w.write(level1, "----\t------\t------\t-------\n")
		for _, c := range s.Conditions {
			w.write(level1, "%v \t%v\t%v\t%v\n", c.Type, c.Status, c.Reason, c.Message)
		}
	}
}

// nodeSelector is a nodeSelector as kubectl shows it: k=v,... or <none>.
func nodeSelector(sel map[string]string) string {
	if len(sel) == 0 {
		return "<none>"
	}
	var out []string
	for _, k := range sortedKeys(sel) {
		out = append(out, k+"="+sel[k])
	}
	return strings.Join(out, ",")
}

// describeCronJob writes kubectl's describe of a CronJob: its schedule and
// policies, job template, last schedule and active Jobs.
func describeCronJob(w *prefixWriter, cj *batchv1.CronJob) {
	writeLabels(w, "Labels", cj.Labels)
	writeAnnotations(w, "Annotations", cj.Annotations)
	w.write(level0, "Schedule:\t%s\n", cj.Spec.Schedule)
	if tz := cj.Spec.TimeZone; tz != nil {
		w.write(level0, "Time Zone:\t%s\n", *tz)
	}
	w.write(level0, "Concurrency Policy:\t%s\n", cj.Spec.ConcurrencyPolicy)
	w.write(level0, "Suspend:\t%t\n", cj.Spec.Suspend != nil && *cj.Spec.Suspend)
	w.write(level0, "Successful Job History Limit:\t%d\n", replicasOf(cj.Spec.SuccessfulJobsHistoryLimit))
	w.write(level0, "Failed Job History Limit:\t%d\n", replicasOf(cj.Spec.FailedJobsHistoryLimit))
	if d := cj.Spec.StartingDeadlineSeconds; d != nil {
		w.write(level0, "Starting Deadline Seconds:\t%ds\n", *d)
	} else {
		w.write(level0, "Starting Deadline Seconds:\t<unset>\n")
	}
	js := cj.Spec.JobTemplate.Spec
	w.write(level0, "Parallelism:\t%d\n", replicasOf(js.Parallelism))
	w.write(level0, "Completions:\t%d\n", replicasOf(js.Completions))
	w.write(level0, "Pod Template:\n")
	pod := &corev1.Pod{ObjectMeta: js.Template.ObjectMeta, Spec: js.Template.Spec}
	writeContainers(w, "  Containers", pod, js.Template.Spec.Containers, nil)
	w.write(level0, "Last Schedule Time:\t%s\n", timeOrUnset(cj.Status.LastScheduleTime))
	w.write(level0, "Last Successful Time:\t%s\n", timeOrUnset(cj.Status.LastSuccessfulTime))
	var active []string
	for _, r := range cj.Status.Active {
		active = append(active, r.Name)
	}
	if len(active) == 0 {
		active = []string{"<none>"}
	}
	w.write(level0, "Active Jobs:\t%s\n", strings.Join(active, ", "))
}

func timeOrUnset(t *metav1.Time) string {
	if t == nil {
		return "<unset>"
	}
	return t.Time.Format(describeTime)
}
