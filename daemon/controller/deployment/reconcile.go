package deployment

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podd-dev/podd/daemon/controller/history"
)

// Reconcile decides what brings a Deployment's pods to its spec: the
// revision of its template (recorded, or bumped when a rollback returns to
// it), pods to create and delete under its strategy, old revisions to
// forget, and its status. The Deployment must be defaulted.
func Reconcile(in Input) Actions {
	d := in.Deployment
	r := &run{in: in, d: d, replicas: int(ptrOr(d.Spec.Replicas, 1)), act: Actions{}}
	r.revision()
	r.classify()
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		r.recreate()
	} else {
		r.rollingUpdate()
	}
	r.forgetOld()
	r.status()
	r.countRevisions()
	return r.act
}

// run is one reconcile in progress.
type run struct {
	in       Input
	d        *appsv1.Deployment
	replicas int
	hash     string
	created  bool // the revision of the template is new
	// newPods and oldPods are the live pods of the current and of older
	// templates; terminatingOld counts old pods still shutting down.
	newPods, oldPods []Pod
	terminatingOld   int
	deleted          map[string]bool
	act              Actions
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// revision finds or records the revision of the current template.
func (r *run) revision() {
	r.hash = TemplateHash(&r.d.Spec.Template)
	number, found, changed := history.Current(entries(r.in.ReplicaSets), r.hash)
	var cur *appsv1.ReplicaSet
	for _, rs := range r.in.ReplicaSets {
		if rs.Labels[LabelTemplateHash] == r.hash {
			cur = rs
		}
	}
	switch {
	case !found:
		cur = newRevision(r.d, r.hash, number)
		r.created = true
		r.act.Save = append(r.act.Save, cur)
	case changed:
		// Back to an older template (rollout undo): it becomes the newest revision.
		cur = cur.DeepCopy()
		cur.Annotations[AnnotationRevision] = strconv.FormatInt(number, 10)
		if cause, ok := r.d.Annotations[AnnotationChangeCause]; ok {
			cur.Annotations[AnnotationChangeCause] = cause
		}
		r.act.Save = append(r.act.Save, cur)
	}
	r.act.Revision = cur
}

// entries are the revisions as the history package numbers them.
func entries(rss []*appsv1.ReplicaSet) []history.Entry {
	out := make([]history.Entry, len(rss))
	for i, rs := range rss {
		out[i] = history.Entry{Name: rs.Name, Hash: rs.Labels[LabelTemplateHash], Number: RevisionOf(rs)}
	}
	return out
}

// classify splits the live pods by template; pods that ended (a Deployment's
// pods restart always, so only an eviction ends one) are deleted to be
// replaced.
func (r *run) classify() {
	r.deleted = map[string]bool{}
	for _, p := range r.in.Pods {
		switch {
		case p.Deleting:
			if p.Hash != r.hash {
				r.terminatingOld++
			}
		case p.Phase == corev1.PodSucceeded || p.Phase == corev1.PodFailed:
			r.remove(p, "PodEnded")
		case p.Hash == r.hash:
			r.newPods = append(r.newPods, p)
		default:
			r.oldPods = append(r.oldPods, p)
		}
	}
}

func (r *run) remove(p Pod, reason string) {
	if r.deleted[p.Name] {
		return
	}
	r.deleted[p.Name] = true
	r.act.Delete = append(r.act.Delete, Delete{Pod: p.Name, Reason: reason})
}

// available says whether p has been ready for minReadySeconds, and asks
// for a requeue when it will be.
func (r *run) available(p Pod) bool {
	if !p.Ready || r.deleted[p.Name] {
		return false
	}
	at := p.ReadySince.Add(time.Duration(r.d.Spec.MinReadySeconds) * time.Second)
	if !r.in.Now.Before(at) {
		return true
	}
	r.requeue(at.Sub(r.in.Now))
	return false
}

func (r *run) requeue(after time.Duration) {
	if after > 0 && (r.act.RequeueAfter == 0 || after < r.act.RequeueAfter) {
		r.act.RequeueAfter = after
	}
}

func (r *run) countAvailable(pods []Pod) int {
	n := 0
	for _, p := range pods {
		if r.available(p) {
			n++
		}
	}
	return n
}

func (r *run) live(pods []Pod) []Pod {
	var out []Pod
	for _, p := range pods {
		if !r.deleted[p.Name] {
			out = append(out, p)
		}
	}
	return out
}

// recreate deletes every old pod and creates the new ones only once the
// old are gone.
func (r *run) recreate() {
	for _, p := range r.oldPods {
		r.remove(p, "Recreate")
	}
	if len(r.oldPods) > 0 || r.terminatingOld > 0 {
		return
	}
	r.scaleNew()
}

// scaleNew brings the current template's pods to replicas exactly.
func (r *run) scaleNew() {
	if n := len(r.newPods); n < r.replicas {
		r.act.Create = r.replicas - n
		return
	}
	for _, p := range r.scaleDownOrder(r.newPods)[:len(r.newPods)-r.replicas] {
		r.remove(p, "ScalingDown")
	}
}

// rollingUpdate is the Deployment controller's rolling update: the new
// template scales up while the total stays within replicas+maxSurge, the
// old scales down while availability stays at replicas-maxUnavailable.
func (r *run) rollingUpdate() {
	surge, unavailable := Limits(r.d)
	if len(r.newPods) >= r.replicas || len(r.oldPods) == 0 {
		r.scaleNew()
	} else {
		total := len(r.newPods) + len(r.oldPods)
		room := r.replicas + surge - total
		if room > 0 {
			r.act.Create = min(room, r.replicas-len(r.newPods))
		}
	}
	if len(r.oldPods) == 0 {
		return
	}
	newCount := len(r.live(r.newPods)) + r.act.Create
	newUnavailable := newCount - r.countAvailable(r.newPods)
	minAvailable := r.replicas - unavailable
	maxScaledDown := len(r.oldPods) + newCount - minAvailable - newUnavailable
	if maxScaledDown <= 0 {
		return
	}
	// Old pods that are not available go first: deleting them costs nothing.
	ordered := r.scaleDownOrder(r.oldPods)
	down := 0
	for _, p := range ordered {
		if down < maxScaledDown && !r.available(p) {
			r.remove(p, "RollingUpdate")
			down++
		}
	}
	canDown := r.countAvailable(r.oldPods) + r.countAvailable(r.newPods) - minAvailable
	for _, p := range ordered {
		if canDown <= 0 {
			break
		}
		if !r.deleted[p.Name] {
			r.remove(p, "RollingUpdate")
			canDown--
		}
	}
}

// scaleDownOrder orders pods as the ReplicaSet controller picks them to
// delete: not ready first, then ready for the shortest time, then newest.
func (r *run) scaleDownOrder(pods []Pod) []Pod {
	out := append([]Pod(nil), pods...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Ready != b.Ready {
			return !a.Ready
		}
		if !a.ReadySince.Equal(b.ReadySince) {
			return a.ReadySince.After(b.ReadySince)
		}
		if !a.Created.Equal(b.Created) {
			return a.Created.After(b.Created)
		}
		return a.Name < b.Name
	})
	return out
}

// Limits resolves a rolling update's maxSurge (rounded up) and
// maxUnavailable (rounded down) against replicas; both zero means one
// unavailable, as Kubernetes does. Recreate has neither.
func Limits(d *appsv1.Deployment) (surge, unavailable int) {
	ru := d.Spec.Strategy.RollingUpdate
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType || ru == nil {
		return 0, 0
	}
	replicas := int(ptrOr(d.Spec.Replicas, 1))
	surge = scaled(ru.MaxSurge, replicas, true)
	unavailable = scaled(ru.MaxUnavailable, replicas, false)
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, min(unavailable, replicas)
}

func scaled(v *intstr.IntOrString, total int, up bool) int {
	if v == nil {
		return 0
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(v, total, up)
	if err != nil {
		return 0 // validation refused it
	}
	return n
}

// forgetOld drops revisions without pods beyond revisionHistoryLimit,
// oldest first.
func (r *run) forgetOld() {
	used := map[string]bool{}
	for _, p := range r.in.Pods {
		used[p.Hash] = true
	}
	r.act.Forget = history.Forget(entries(r.in.ReplicaSets), r.hash, used, int(ptrOr(r.d.Spec.RevisionHistoryLimit, 10)))
}

// status counts the pods as they will be after the actions and sets the
// Available and Progressing conditions.
func (r *run) status() {
	d := r.d
	newLive, oldLive := r.live(r.newPods), r.live(r.oldPods)
	s := appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation,
		Replicas:           int32(len(newLive) + len(oldLive) + r.act.Create),
		UpdatedReplicas:    int32(len(newLive) + r.act.Create),
		ReadyReplicas:      int32(countReady(newLive) + countReady(oldLive)),
		AvailableReplicas:  int32(r.countAvailable(newLive) + r.countAvailable(oldLive)),
	}
	s.UnavailableReplicas = int32(max(0, r.replicas-int(s.AvailableReplicas)))
	_, unavailable := Limits(d)
	now := metav1.NewTime(r.in.Now)
	avail := appsv1.DeploymentCondition{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue,
		Reason: ReasonMinimumReplicasAvailable, Message: "Deployment has minimum availability."}
	if int(s.AvailableReplicas) < r.replicas-unavailable {
		avail.Status, avail.Reason, avail.Message = corev1.ConditionFalse, ReasonMinimumReplicasUnavail, "Deployment does not have minimum availability."
	}
	s.Conditions = []appsv1.DeploymentCondition{
		carry(d.Status.Conditions, avail, now),
		r.progressing(s, now),
	}
	r.act.Status = s
}

func countReady(pods []Pod) int {
	n := 0
	for _, p := range pods {
		if p.Ready {
			n++
		}
	}
	return n
}

// progressing is the Progressing condition: complete, progressing (the
// counts moved since the last status), or stalled past the deadline.
func (r *run) progressing(s appsv1.DeploymentStatus, now metav1.Time) appsv1.DeploymentCondition {
	name := r.act.Revision.Name
	prev := find(r.d.Status.Conditions, appsv1.DeploymentProgressing)
	cond := appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue}
	old := r.d.Status
	// Kubernetes' DeploymentComplete: old pods still terminating count in
	// no replica number, so they hold the completion no more than they
	// hold kubectl rollout status (a pod deleted in this very round does
	// not either).
	complete := int(s.UpdatedReplicas) == r.replicas && int(s.AvailableReplicas) == r.replicas &&
		s.Replicas == s.UpdatedReplicas
	moved := s.UpdatedReplicas > old.UpdatedReplicas || s.Replicas-s.UpdatedReplicas < old.Replicas-old.UpdatedReplicas ||
		s.ReadyReplicas > old.ReadyReplicas || s.AvailableReplicas > old.AvailableReplicas
	switch {
	case complete:
		cond.Reason, cond.Message = ReasonNewRSAvailable, fmt.Sprintf("ReplicaSet %q has successfully progressed.", name)
	case r.created:
		cond.Reason, cond.Message = ReasonNewRSCreated, fmt.Sprintf("Created new replica set %q", name)
		cond.LastUpdateTime = now
	case prev == nil || moved || old.ObservedGeneration != r.d.Generation:
		cond.Reason, cond.Message = ReasonRSUpdated, fmt.Sprintf("ReplicaSet %q is progressing.", name)
		cond.LastUpdateTime = now
	default:
		cond = *prev
		if cond.Reason == ReasonProgressDeadlineExceeded || r.d.Spec.ProgressDeadlineSeconds == nil {
			break
		}
		deadline := cond.LastUpdateTime.Add(time.Duration(*r.d.Spec.ProgressDeadlineSeconds) * time.Second)
		if !r.in.Now.Before(deadline) {
			cond.Status, cond.Reason = corev1.ConditionFalse, ReasonProgressDeadlineExceeded
			cond.Message = fmt.Sprintf("ReplicaSet %q has timed out progressing.", name)
			cond.LastUpdateTime = now
		} else {
			r.requeue(deadline.Sub(r.in.Now))
		}
	}
	if !complete && cond.Reason != ReasonProgressDeadlineExceeded && r.d.Spec.ProgressDeadlineSeconds != nil && !cond.LastUpdateTime.IsZero() {
		r.requeue(cond.LastUpdateTime.Add(time.Duration(*r.d.Spec.ProgressDeadlineSeconds) * time.Second).Sub(r.in.Now))
	}
	return carry(r.d.Status.Conditions, cond, now)
}

func find(conds []appsv1.DeploymentCondition, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}

// carry keeps the transition time of an unchanged status, and the update
// time of an unchanged reason.
func carry(conds []appsv1.DeploymentCondition, c appsv1.DeploymentCondition, now metav1.Time) appsv1.DeploymentCondition {
	prev := find(conds, c.Type)
	c.LastTransitionTime = now
	if prev != nil && prev.Status == c.Status {
		c.LastTransitionTime = prev.LastTransitionTime
	}
	if c.LastUpdateTime.IsZero() {
		c.LastUpdateTime = now
		if prev != nil && prev.Status == c.Status && prev.Reason == c.Reason && prev.Message == c.Message {
			c.LastUpdateTime = prev.LastUpdateTime
		}
	}
	return c
}

// countRevisions records on each revision how many pods of its template
// there are (desired, ready, available), saving those that changed.
func (r *run) countRevisions() {
	type counts struct{ all, ready, available int32 }
	by := map[string]*counts{}
	for _, p := range append(r.live(r.newPods), r.live(r.oldPods)...) {
		c := by[p.Hash]
		if c == nil {
			c = &counts{}
			by[p.Hash] = c
		}
		c.all++
		if p.Ready {
			c.ready++
		}
		if r.available(p) {
			c.available++
		}
	}
	if c := by[r.hash]; c != nil {
		c.all += int32(r.act.Create)
	} else {
		by[r.hash] = &counts{all: int32(r.act.Create)}
	}
	forgotten := map[string]bool{}
	for _, n := range r.act.Forget {
		forgotten[n] = true
	}
	saving := map[string]int{}
	for i, rs := range r.act.Save {
		saving[rs.Name] = i
	}
	all := append([]*appsv1.ReplicaSet(nil), r.in.ReplicaSets...)
	if r.created {
		all = append(all, r.act.Revision)
	}
	for _, rs := range all {
		if forgotten[rs.Name] {
			continue
		}
		if i, ok := saving[rs.Name]; ok {
			rs = r.act.Save[i]
		}
		c := by[rs.Labels[LabelTemplateHash]]
		if c == nil {
			c = &counts{}
		}
		st := appsv1.ReplicaSetStatus{Replicas: c.all, ReadyReplicas: c.ready, AvailableReplicas: c.available, ObservedGeneration: 1}
		if rs.Spec.Replicas != nil && *rs.Spec.Replicas == c.all && reflect.DeepEqual(rs.Status, st) {
			continue
		}
		rs = rs.DeepCopy()
		rs.Spec.Replicas, rs.Status = &c.all, st
		if i, ok := saving[rs.Name]; ok {
			r.act.Save[i] = rs
		} else {
			saving[rs.Name] = len(r.act.Save)
			r.act.Save = append(r.act.Save, rs)
		}
		if rs.Name == r.act.Revision.Name {
			r.act.Revision = rs
		}
	}
}
