package printers

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
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
