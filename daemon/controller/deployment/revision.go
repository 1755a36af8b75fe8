package deployment

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
)

// TemplateHash is the pod-template-hash of a template: an FNV-32a digest
// of the template without that label, spelled as Kubernetes spells it.
func TemplateHash(t *corev1.PodTemplateSpec) string {
	c := t.DeepCopy()
	delete(c.Labels, LabelTemplateHash)
	if len(c.Labels) == 0 {
		c.Labels = nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		// A PodTemplateSpec always marshals; a failure is a programming error.
		panic(fmt.Sprintf("marshal pod template for hashing: %v", err))
	}
	h := fnv.New32a()
	h.Write(b)
	return rand.SafeEncodeString(strconv.FormatUint(uint64(h.Sum32()), 10))
}

// RevisionOf is the revision number of a ReplicaSet (0 when unset).
func RevisionOf(rs *appsv1.ReplicaSet) int64 {
	n, _ := strconv.ParseInt(rs.Annotations[AnnotationRevision], 10, 64)
	return n
}

// newRevision is the ReplicaSet that records d's current template.
func newRevision(d *appsv1.Deployment, hash string, revision int64) *appsv1.ReplicaSet {
	t := d.Spec.Template.DeepCopy()
	t.Labels = withHash(t.Labels, hash)
	sel := d.Spec.Selector.DeepCopy()
	sel.MatchLabels = withHash(sel.MatchLabels, hash)
	rs := &appsv1.ReplicaSet{
		TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"},
		ObjectMeta: metav1.ObjectMeta{
			Name: d.Name + "-" + hash, Namespace: d.Namespace,
			Labels:          withHash(d.Spec.Template.Labels, hash),
			Annotations:     map[string]string{AnnotationRevision: strconv.FormatInt(revision, 10)},
			OwnerReferences: []metav1.OwnerReference{OwnerRef(d)},
		},
		Spec: appsv1.ReplicaSetSpec{Selector: sel, Template: *t, MinReadySeconds: d.Spec.MinReadySeconds},
	}
	if cause, ok := d.Annotations[AnnotationChangeCause]; ok {
		rs.Annotations[AnnotationChangeCause] = cause
	}
	return rs
}

func withHash(labels map[string]string, hash string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	for k, v := range labels {
		out[k] = v
	}
	out[LabelTemplateHash] = hash
	return out
}

// OwnerRef is the controller owner reference to d that its pods and
// revisions carry.
func OwnerRef(d *appsv1.Deployment) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: &yes, BlockOwnerDeletion: &yes}
}

// NewPod is a pod of revision rs, named <rs name>-<suffix> (the suffix is
// the caller's: five random characters, as the ReplicaSet controller's).
func NewPod(d *appsv1.Deployment, rs *appsv1.ReplicaSet, suffix string) *corev1.Pod {
	t := rs.Spec.Template.DeepCopy()
	pod := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: rs.Name + "-" + suffix, Namespace: d.Namespace,
			Labels: t.Labels, Annotations: t.Annotations,
			OwnerReferences: []metav1.OwnerReference{OwnerRef(d)},
		},
		Spec: t.Spec,
	}
	return pod
}
