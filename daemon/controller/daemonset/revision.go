package daemonset

import (
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/podd-dev/podd/daemon/controller/history"
)

// AnnotationChangeCause is copied from the DaemonSet to its revision.
const AnnotationChangeCause = "kubernetes.io/change-cause"

// revisionData is what a ControllerRevision of a DaemonSet holds: the
// patch that puts its template back, as the DaemonSet controller writes it.
type revisionData struct {
	Spec struct {
		Template *revisionTemplate `json:"template"`
	} `json:"spec"`
}

type revisionTemplate struct {
	corev1.PodTemplateSpec
	Patch string `json:"$patch,omitempty"`
}

// TemplateOf is the pod template a DaemonSet's revision recorded.
func TemplateOf(cr *appsv1.ControllerRevision) (*corev1.PodTemplateSpec, error) {
	var d revisionData
	if err := json.Unmarshal(cr.Data.Raw, &d); err != nil || d.Spec.Template == nil {
		return nil, fmt.Errorf("revision %s holds no pod template: %v", cr.Name, err)
	}
	return &d.Spec.Template.PodTemplateSpec, nil
}

// newRevision is the ControllerRevision that records ds's current
// template as revision number.
func newRevision(ds *appsv1.DaemonSet, hash string, number int64) *appsv1.ControllerRevision {
	var d revisionData
	d.Spec.Template = &revisionTemplate{PodTemplateSpec: *ds.Spec.Template.DeepCopy(), Patch: "replace"}
	raw, err := json.Marshal(d)
	if err != nil {
		// A PodTemplateSpec always marshals; a failure is a programming error.
		panic(fmt.Sprintf("marshal pod template of a revision: %v", err))
	}
	labels := map[string]string{LabelRevisionHash: hash}
	for k, v := range ds.Spec.Template.Labels {
		labels[k] = v
	}
	cr := &appsv1.ControllerRevision{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ControllerRevision"},
		ObjectMeta: metav1.ObjectMeta{Name: ds.Name + "-" + hash, Namespace: ds.Namespace, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{OwnerRef(ds)}},
		Data:     runtime.RawExtension{Raw: raw},
		Revision: number,
	}
	if cause, ok := ds.Annotations[AnnotationChangeCause]; ok {
		cr.Annotations = map[string]string{AnnotationChangeCause: cause}
	}
	return cr
}

// revisions records the current template's revision (new, or bumped by a
// rollback to it) and forgets the idle ones beyond revisionHistoryLimit.
func (r *run) revisions() {
	var entries []history.Entry
	var cur *appsv1.ControllerRevision
	for _, cr := range r.in.Revisions {
		entries = append(entries, history.Entry{Name: cr.Name, Hash: cr.Labels[LabelRevisionHash], Number: cr.Revision})
		if cr.Labels[LabelRevisionHash] == r.act.Hash {
			cur = cr
		}
	}
	number, found, changed := history.Current(entries, r.act.Hash)
	switch {
	case !found:
		r.act.Save = append(r.act.Save, newRevision(r.ds, r.act.Hash, number))
	case changed:
		cur = cur.DeepCopy()
		cur.Revision = number
		if cause, ok := r.ds.Annotations[AnnotationChangeCause]; ok {
			if cur.Annotations == nil {
				cur.Annotations = map[string]string{}
			}
			cur.Annotations[AnnotationChangeCause] = cause
		}
		r.act.Save = append(r.act.Save, cur)
	}
	r.act.Revision = number
	used := map[string]bool{}
	for _, p := range r.in.Pods {
		used[p.Hash] = true
	}
	limit := 10
	if l := r.ds.Spec.RevisionHistoryLimit; l != nil {
		limit = int(*l)
	}
	r.act.Forget = history.Forget(entries, r.act.Hash, used, limit)
}
