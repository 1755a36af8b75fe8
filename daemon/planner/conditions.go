package planner

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// conditions builds the pod conditions the kubelet owns, in its order (R4, R60–R63).
// Each keeps its previous lastTransitionTime unless its status changed (R63).
func (p *plan) conditions() []corev1.PodCondition {
	sandbox := corev1.ConditionFalse // R60
	if p.sb.State == SandboxReady {
		sandbox = corev1.ConditionTrue
	}
	ready := p.containersReady()
	conds := []corev1.PodCondition{
		{Type: corev1.PodReadyToStartContainers, Status: sandbox},
		p.initialized(),
		{Type: corev1.PodReady, Status: ready.Status, Reason: ready.Reason, Message: ready.Message}, // R63
		ready,
		{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, // R4
	}
	for i := range conds {
		conds[i].LastTransitionTime = metav1.NewTime(p.now)
		for _, old := range p.pod.Status.Conditions {
			if old.Type == conds[i].Type && old.Status == conds[i].Status {
				conds[i].LastTransitionTime = old.LastTransitionTime
			}
		}
	}
	return conds
}

// initialized (R61): true without init containers, once every regular init container
// exited 0 and every sidecar started, and from then on in this sandbox.
func (p *plan) initialized() corev1.PodCondition {
	c := corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}
	if p.phase == corev1.PodSucceeded && len(p.inits) > 0 {
		c.Reason = ReasonPodCompleted
		return c
	}
	if p.initDone {
		return c
	}
	var incomplete []string
	for _, v := range p.inits {
		if !v.initComplete() {
			incomplete = append(incomplete, v.spec.Name)
		}
	}
	c.Status = corev1.ConditionFalse
	c.Reason = ReasonContainersNotInitialized
	c.Message = fmt.Sprintf("containers with incomplete status: %s", incomplete)
	return c
}

// containersReady (R62): every app container and sidecar is ready; false with the
// phase as reason once the pod finished.
func (p *plan) containersReady() corev1.PodCondition {
	c := corev1.PodCondition{Type: corev1.ContainersReady, Status: corev1.ConditionFalse}
	switch p.phase {
	case corev1.PodSucceeded:
		c.Reason = ReasonPodCompleted
		return c
	case corev1.PodFailed:
		c.Reason = ReasonPodFailed
		return c
	}
	var unready []string
	for _, v := range p.all() {
		if (v.sidecar || !v.init) && !p.ready(v) {
			unready = append(unready, v.spec.Name)
		}
	}
	if len(unready) > 0 {
		c.Reason = ReasonContainersNotReady
		c.Message = fmt.Sprintf("containers with unready status: %s", unready)
		return c
	}
	c.Status = corev1.ConditionTrue
	return c
}
