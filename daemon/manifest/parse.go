package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// InvalidError rejects one object of a manifest with every field problem.
type InvalidError struct {
	Source    string
	Doc, Docs int
	// Kind is the object's kind; empty means Pod.
	Kind      string
	Namespace string
	Name      string
	Errs      field.ErrorList
}

// Error formats `source: document 2: pod "web": spec.containers[0].image:
// Required value; ...`.
func (e *InvalidError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, fe := range e.Errs {
		msgs[i] = fe.Error()
	}
	name := e.Name
	if name == "" {
		name = "<unnamed>"
	}
	kind := e.Kind
	if kind == "" {
		kind = KindPod
	}
	return fmt.Sprintf("%s%s %q: %s", prefix(e.Source, e.Doc, e.Docs), strings.ToLower(kind), name, strings.Join(msgs, "; "))
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Parse is ParseObjects for callers that take pods only: the other objects
// of the manifest are left out.
func Parse(data []byte, source string, pol Policy) ([]*corev1.Pod, []string, error) {
	docs, warnings, err := ParseObjects(data, source, pol)
	if err != nil {
		return nil, nil, err
	}
	return podsOf(docs), warnings, nil
}

// ParseObjects decodes, defaults and validates (pods against pol) every
// object of a manifest. It is all or nothing (R1): an error in any document
// returns no object. Two documents that name the same object are an error
// too. Warnings come from DecodeObjects and Warnings.
func ParseObjects(data []byte, source string, pol Policy) ([]Document, []string, error) {
	docs, warnings, err := DecodeObjects(data, source)
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]int{}
	for _, d := range docs {
		kind := KindOf(d.Object)
		var errs field.ErrorList
		var warns []string
		if pod, ok := d.Object.(*corev1.Pod); ok {
			Default(pod)
			errs = Validate(pod, pol)
			if len(errs) == 0 {
				warns = Warnings(pod)
			}
		} else if w, ok := d.Object.(*appsv1.Deployment); ok {
			defaultDeployment(w)
			errs = validateDeployment(w, pol)
		} else if j, ok := d.Object.(*batchv1.Job); ok {
			defaultJob(j)
			errs = validateJob(j, pol)
		} else if ds, ok := d.Object.(*appsv1.DaemonSet); ok {
			defaultDaemonSet(ds)
			errs = validateDaemonSet(ds, pol)
		} else if cj, ok := d.Object.(*batchv1.CronJob); ok {
			defaultCronJob(cj)
			errs = validateCronJob(cj, pol)
		} else {
			warns = DefaultObject(d.Object)
			errs = ValidateObject(d.Object)
		}
		obj := d.Object
		key := kind + "/" + obj.GetNamespace() + "/" + obj.GetName()
		if j, dup := seen[key]; dup && obj.GetName() != "" {
			errs = append(errs, field.Duplicate(field.NewPath("metadata", "name"), fmt.Sprintf("%s (also in document %d)", obj.GetName(), j)))
		}
		seen[key] = d.Doc
		if len(errs) > 0 {
			return nil, nil, &InvalidError{Source: source, Doc: d.Doc, Docs: d.Docs, Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName(), Errs: errs}
		}
		for _, w := range warns {
			warnings = append(warnings, prefix(source, d.Doc, d.Docs)+fmt.Sprintf("%s %q: ", strings.ToLower(kind), obj.GetName())+w)
		}
	}
	return docs, warnings, nil
}

// hashed is what SpecHash covers: what the containers can observe.
type hashed struct {
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Spec        corev1.PodSpec    `json:"spec"`
}

// SpecHash returns a stable hex digest of a pod's name, labels, annotations
// (both reach containers through the downward API) and defaulted spec. Two
// manifests with the same hash are the same pod for R3's no-op rule.
func SpecHash(pod *corev1.Pod) string {
	c := pod.DeepCopy()
	Default(c)
	b, err := json.Marshal(hashed{Namespace: c.Namespace, Name: c.Name, Labels: c.Labels, Annotations: c.Annotations, Spec: c.Spec})
	if err != nil {
		// A PodSpec always marshals; a failure here is a programming error.
		panic(fmt.Sprintf("marshal pod spec for hashing: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
