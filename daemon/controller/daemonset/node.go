package daemonset

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// fieldNodeName is the one field a node selector term's matchFields may
// name, as in Kubernetes.
const fieldNodeName = "metadata.name"

// NodeMatches says whether node satisfies a pod template's nodeName,
// nodeSelector and required node affinity (the scheduler's predicates that
// apply to one node without taints), and if not, why.
func NodeMatches(spec *corev1.PodSpec, node Node) (bool, string) {
	if spec.NodeName != "" && spec.NodeName != node.Name {
		return false, fmt.Sprintf("spec.template.spec.nodeName %q is not this node (%s)", spec.NodeName, node.Name)
	}
	if !labels.SelectorFromSet(spec.NodeSelector).Matches(labels.Set(node.Labels)) {
		return false, fmt.Sprintf("node %s does not match the nodeSelector %s", node.Name, labels.Set(spec.NodeSelector))
	}
	a := spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true, ""
	}
	for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		if termMatches(term, node) {
			return true, ""
		}
	}
	return false, fmt.Sprintf("node %s matches no term of the required node affinity", node.Name)
}

// termMatches ANDs a term's expressions; a term without any matches nothing.
func termMatches(term corev1.NodeSelectorTerm, node Node) bool {
	if len(term.MatchExpressions) == 0 && len(term.MatchFields) == 0 {
		return false
	}
	for _, e := range term.MatchExpressions {
		if !requirementMatches(e, labels.Set(node.Labels)) {
			return false
		}
	}
	for _, f := range term.MatchFields {
		if f.Key != fieldNodeName || !requirementMatches(f, labels.Set{fieldNodeName: node.Name}) {
			return false
		}
	}
	return true
}

var operators = map[corev1.NodeSelectorOperator]selection.Operator{
	corev1.NodeSelectorOpIn: selection.In, corev1.NodeSelectorOpNotIn: selection.NotIn,
	corev1.NodeSelectorOpExists: selection.Exists, corev1.NodeSelectorOpDoesNotExist: selection.DoesNotExist,
	corev1.NodeSelectorOpGt: selection.GreaterThan, corev1.NodeSelectorOpLt: selection.LessThan,
}

func requirementMatches(e corev1.NodeSelectorRequirement, set labels.Set) bool {
	op, ok := operators[e.Operator]
	if !ok {
		return false
	}
	req, err := labels.NewRequirement(e.Key, op, e.Values)
	if err != nil {
		return false // validation refused it
	}
	return req.Matches(set)
}
