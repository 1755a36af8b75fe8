package daemonset

import (
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podd-dev/podd/daemon/controller/deployment"
)

// Reconcile decides what brings a DaemonSet's pods on this node to its
// spec: one pod of the current template when the node matches, none when
// it does not, an old pod replaced under the update strategy. The
// DaemonSet must be defaulted.
func Reconcile(in Input) Actions {
	ds := in.DaemonSet
	r := &run{in: in, ds: ds, deleted: map[string]bool{}}
	r.act.Hash = deployment.TemplateHash(&ds.Spec.Template)
	r.revisions()
	r.matched, r.why = NodeMatches(&ds.Spec.Template.Spec, in.Node)
	r.classify()
	switch {
	case !r.matched:
		for _, p := range append(r.newPods, r.oldPods...) {
			r.remove(p, "NodeMismatch")
		}
	case ds.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType:
		r.onDelete()
	default:
		r.rollingUpdate()
	}
	r.status()
	return r.act
}

// run is one reconcile in progress.
type run struct {
	in      Input
	ds      *appsv1.DaemonSet
	matched bool
	why     string
	// newPods and oldPods are the live pods of the current and of older
	// templates, the one to keep first; terminating counts pods shutting down.
	newPods, oldPods []Pod
	terminating      int
	deleted          map[string]bool
	act              Actions
}

// classify splits the live pods by template, deletes pods that ended (a
// daemon pod restarts always, so only an eviction ends one) and, of
// several pods of one template, all but the one to keep.
func (r *run) classify() {
	for _, p := range r.in.Pods {
		switch {
		case p.Deleting:
			r.terminating++
		case p.Phase == corev1.PodSucceeded || p.Phase == corev1.PodFailed:
			r.remove(p, "PodEnded")
		case p.Hash == r.act.Hash:
			r.newPods = append(r.newPods, p)
		default:
			r.oldPods = append(r.oldPods, p)
		}
	}
	r.newPods = r.keepOne(r.newPods)
	r.oldPods = r.keepOne(r.oldPods)
}

// keepOne keeps the pod ready longest (then the oldest) and deletes the
// others, as the DaemonSet controller does with extra pods on a node.
func (r *run) keepOne(pods []Pod) []Pod {
	if len(pods) < 2 {
		return pods
	}
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i], pods[j]
		if a.Ready != b.Ready {
			return a.Ready
		}
		if a.Ready && !a.ReadySince.Equal(b.ReadySince) {
			return a.ReadySince.Before(b.ReadySince)
		}
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.Name < b.Name
	})
	for _, p := range pods[1:] {
		r.remove(p, "ExcessPod")
	}
	return pods[:1]
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
	at := p.ReadySince.Add(time.Duration(r.ds.Spec.MinReadySeconds) * time.Second)
	if !r.in.Now.Before(at) {
		return true
	}
	if after := at.Sub(r.in.Now); r.act.RequeueAfter == 0 || after < r.act.RequeueAfter {
		r.act.RequeueAfter = after
	}
	return false
}

// onDelete creates a pod only when the node has none: an old pod is
// replaced once somebody deletes it.
func (r *run) onDelete() {
	if len(r.oldPods) > 0 && len(r.newPods) > 0 {
		r.remove(r.oldPods[0], "ExcessPod")
	}
	if len(r.newPods)+len(r.oldPods) == 0 && r.terminating == 0 {
		r.act.Create = true
	}
}

// rollingUpdate replaces an old pod on the node: with maxSurge the new
// pod starts first and the old goes once the new is available; without,
// the old goes first and the new starts once it is gone.
func (r *run) rollingUpdate() {
	surge, _ := Limits(r.ds)
	hasNew := len(r.newPods) > 0
	if len(r.oldPods) == 0 {
		if !hasNew && (r.terminating == 0 || surge > 0) {
			r.act.Create = true
		}
		return
	}
	old := r.oldPods[0]
	switch {
	case hasNew && r.available(r.newPods[0]):
		r.remove(old, "RollingUpdate")
	case !r.available(old):
		// An old pod that is not available costs nothing to delete.
		r.remove(old, "RollingUpdate")
		if !hasNew && surge > 0 {
			r.act.Create = true
		}
	case hasNew:
		// A surged pod not yet available: wait for it.
	case surge > 0:
		r.act.Create = true
	default:
		r.remove(old, "RollingUpdate")
	}
}

// Limits resolves a rolling update's maxSurge and maxUnavailable against
// the one node, both rounded up as the DaemonSet controller does.
func Limits(ds *appsv1.DaemonSet) (surge, unavailable int) {
	ru := ds.Spec.UpdateStrategy.RollingUpdate
	if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType || ru == nil {
		return 0, 0
	}
	return scaled(ru.MaxSurge), scaled(ru.MaxUnavailable)
}

func scaled(v *intstr.IntOrString) int {
	if v == nil {
		return 0
	}
	n, err := intstr.GetScaledValueFromIntOrPercent(v, 1, true)
	if err != nil {
		return 0 // validation refused it
	}
	return n
}

// status counts the node's pods as they are after the deletions: the
// numbers are of nodes, so each is 0 or 1.
func (r *run) status() {
	ds := r.ds
	var live []Pod
	for _, p := range append(r.newPods, r.oldPods...) {
		if !r.deleted[p.Name] {
			live = append(live, p)
		}
	}
	one := func(b bool) int32 {
		if b {
			return 1
		}
		return 0
	}
	var ready, available, updated bool
	for _, p := range live {
		ready = ready || p.Ready
		available = available || r.available(p)
		updated = updated || p.Hash == r.act.Hash
	}
	s := appsv1.DaemonSetStatus{
		ObservedGeneration:     ds.Generation,
		DesiredNumberScheduled: one(r.matched),
		CurrentNumberScheduled: one(r.matched && len(live) > 0),
		NumberMisscheduled:     one(!r.matched && len(live) > 0),
		NumberReady:            one(r.matched && ready),
		UpdatedNumberScheduled: one(r.matched && updated),
		NumberAvailable:        one(r.matched && available),
	}
	s.NumberUnavailable = s.DesiredNumberScheduled - s.NumberAvailable
	cond := appsv1.DaemonSetCondition{Type: ConditionNodeMatched, Status: corev1.ConditionTrue, Reason: ReasonNodeMatches,
		Message: "node " + r.in.Node.Name + " runs the DaemonSet's pod"}
	if !r.matched {
		cond.Status, cond.Reason, cond.Message = corev1.ConditionFalse, ReasonNodeMismatch, r.why
	}
	cond.LastTransitionTime = metav1.NewTime(r.in.Now)
	for _, c := range ds.Status.Conditions {
		if c.Type == cond.Type && c.Status == cond.Status {
			cond.LastTransitionTime = c.LastTransitionTime
		}
	}
	s.Conditions = []appsv1.DaemonSetCondition{cond}
	r.act.Status = s
}

// OwnerRef is the controller owner reference to ds that its pods carry.
func OwnerRef(ds *appsv1.DaemonSet) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{APIVersion: "apps/v1", Kind: "DaemonSet", Name: ds.Name, UID: ds.UID, Controller: &yes, BlockOwnerDeletion: &yes}
}

// NewPod is the DaemonSet's pod of template hash, named <name>-<suffix>
// (the suffix is the caller's: five random characters, as generateName).
func NewPod(ds *appsv1.DaemonSet, hash, suffix string) *corev1.Pod {
	t := ds.Spec.Template.DeepCopy()
	labels := make(map[string]string, len(t.Labels)+2)
	for k, v := range t.Labels {
		labels[k] = v
	}
	labels[LabelRevisionHash] = hash
	labels[LabelTemplateGeneration] = strconv.FormatInt(ds.Generation, 10)
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: ds.Name + "-" + suffix, Namespace: ds.Namespace, Labels: labels, Annotations: t.Annotations,
			OwnerReferences: []metav1.OwnerReference{OwnerRef(ds)},
		},
		Spec: t.Spec,
	}
}
