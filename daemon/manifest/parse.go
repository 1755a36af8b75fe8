package manifest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// InvalidError rejects one pod of a manifest with every field problem.
type InvalidError struct {
	Source    string
	Doc, Docs int
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
	return fmt.Sprintf("%spod %q: %s", prefix(e.Source, e.Doc, e.Docs), name, strings.Join(msgs, "; "))
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Parse decodes, defaults and validates (against pol) every pod of a manifest. It is all or
// nothing (R1): an error in any document returns no pod. Two documents that
// name the same pod are an error too. Warnings come from Decode and Warnings.
func Parse(data []byte, source string, pol Policy) ([]*corev1.Pod, []string, error) {
	pods, warnings, err := Decode(data, source)
	if err != nil {
		return nil, nil, err
	}
	seen := map[string]int{}
	for i, pod := range pods {
		Default(pod)
		loc := prefix(source, i+1, len(pods))
		errs := Validate(pod, pol)
		key := pod.Namespace + "/" + pod.Name
		if j, dup := seen[key]; dup && pod.Name != "" {
			errs = append(errs, field.Duplicate(field.NewPath("metadata", "name"), fmt.Sprintf("%s (also in document %d)", pod.Name, j)))
		}
		seen[key] = i + 1
		if len(errs) > 0 {
			return nil, nil, &InvalidError{Source: source, Doc: i + 1, Docs: len(pods), Namespace: pod.Namespace, Name: pod.Name, Errs: errs}
		}
		for _, w := range Warnings(pod) {
			warnings = append(warnings, loc+fmt.Sprintf("pod %q: ", pod.Name)+w)
		}
	}
	return pods, warnings, nil
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
