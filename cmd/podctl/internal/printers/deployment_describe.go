package printers

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// describeDeployment writes kubectl's describe of a Deployment: replicas,
// strategy, pod template, conditions.
func describeDeployment(w *prefixWriter, d *appsv1.Deployment) {
	w.write(level0, "CreationTimestamp:\t%s\n", d.CreationTimestamp.Time.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	writeLabels(w, "Labels", d.Labels)
	writeAnnotations(w, "Annotations", d.Annotations)
	w.write(level0, "Selector:\t%s\n", metav1.FormatLabelSelector(d.Spec.Selector))
	s := d.Status
	w.write(level0, "Replicas:\t%d desired | %d updated | %d total | %d available | %d unavailable\n",
		replicasOf(d.Spec.Replicas), s.UpdatedReplicas, s.Replicas, s.AvailableReplicas, s.UnavailableReplicas)
	w.write(level0, "StrategyType:\t%s\n", d.Spec.Strategy.Type)
	w.write(level0, "MinReadySeconds:\t%d\n", d.Spec.MinReadySeconds)
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil && ru.MaxSurge != nil && ru.MaxUnavailable != nil {
		w.write(level0, "RollingUpdateStrategy:\t%s max unavailable, %s max surge\n", ru.MaxUnavailable.String(), ru.MaxSurge.String())
	}
	w.write(level0, "Pod Template:\n")
	writeLabels(w, "  Labels", d.Spec.Template.Labels)
	pod := &corev1.Pod{ObjectMeta: d.Spec.Template.ObjectMeta, Spec: d.Spec.Template.Spec}
	writeContainers(w, "  Containers", pod, d.Spec.Template.Spec.Containers, nil)
	if len(s.Conditions) > 0 {
		w.write(level0, "Conditions:\n")
		w.write(level1, "Type\tStatus\tReason\n")
		w.write(level1, "----\t------\t------\n")
		for _, c := range s.Conditions {
			w.write(level1, "%v \t%v\t%v\n", c.Type, c.Status, c.Reason)
		}
	}
	w.write(level0, "NewReplicaSet:\t%s\n", newReplicaSet(d))
}

// newReplicaSet names the revision the Deployment is at, as
// "<name>-<hash> (revision N)", from its Progressing condition's message.
func newReplicaSet(d *appsv1.Deployment) string {
	for _, c := range d.Status.Conditions {
		if c.Type != appsv1.DeploymentProgressing {
			continue
		}
		if _, rest, ok := strings.Cut(c.Message, `"`); ok {
			if name, _, ok := strings.Cut(rest, `"`); ok {
				return fmt.Sprintf("%s (revision %s)", name, d.Annotations["deployment.kubernetes.io/revision"])
			}
		}
	}
	return "<none>"
}

// describeJob writes kubectl's describe of a Job: its limits, pod counts
// and conditions.
func describeJob(w *prefixWriter, j *batchv1.Job) {
	writeLabels(w, "Labels", j.Labels)
	writeAnnotations(w, "Annotations", j.Annotations)
	w.write(level0, "Parallelism:\t%d\n", replicasOf(j.Spec.Parallelism))
	w.write(level0, "Completions:\t%d\n", replicasOf(j.Spec.Completions))
	w.write(level0, "Completion Mode:\tNonIndexed\n")
	if j.Status.StartTime != nil {
		w.write(level0, "Start Time:\t%s\n", j.Status.StartTime.Time.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	}
	if j.Status.CompletionTime != nil {
		w.write(level0, "Completed At:\t%s\n", j.Status.CompletionTime.Time.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	}
	if d := j.Spec.ActiveDeadlineSeconds; d != nil {
		w.write(level0, "Active Deadline Seconds:\t%ds\n", *d)
	}
	w.write(level0, "Pods Statuses:\t%d Active / %d Succeeded / %d Failed\n", j.Status.Active, j.Status.Succeeded, j.Status.Failed)
	w.write(level0, "Pod Template:\n")
	pod := &corev1.Pod{ObjectMeta: j.Spec.Template.ObjectMeta, Spec: j.Spec.Template.Spec}
	writeContainers(w, "  Containers", pod, j.Spec.Template.Spec.Containers, nil)
	if len(j.Status.Conditions) > 0 {
		w.write(level0, "Conditions:\n")
		w.write(level1, "Type\tStatus\tReason\tMessage\n")
		w.write(level1, "----\t------\t------\t-------\n")
		for _, c := range j.Status.Conditions {
			w.write(level1, "%v \t%v\t%v\t%v\n", c.Type, c.Status, c.Reason, c.Message)
		}
	}
}
