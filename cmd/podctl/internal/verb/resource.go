package verb

import (
	"encoding/json"
	"fmt"
	"strings"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
	corev1 "k8s.io/api/core/v1"
)

// DefaultContainerAnnotation names the container that logs and exec use
// when none is given.
const DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// podTypeNames are the spellings of the pod resource that podctl accepts.
var podTypeNames = map[string]bool{"pod": true, "pods": true, "po": true}

// ParseResourceArgs reads kubectl-style resource arguments, "pods [NAME...]"
// or "pod/NAME...", and returns the pod names (none means all pods).
func ParseResourceArgs(args []string) ([]string, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("you must specify the type of resource: pods")
	}
	if podTypeNames[strings.ToLower(args[0])] {
		return args[1:], nil
	}
	names := make([]string, 0, len(args))
	for _, a := range args {
		typ, name, ok := strings.Cut(a, "/")
		if !ok {
			return nil, fmt.Errorf("the server doesn't have a resource type %q", a)
		}
		if !podTypeNames[strings.ToLower(typ)] {
			return nil, fmt.Errorf("the server doesn't have a resource type %q", typ)
		}
		if name == "" {
			return nil, fmt.Errorf("arguments in resource/name form must have a single resource and name")
		}
		names = append(names, name)
	}
	return names, nil
}

// PodName reads a single pod argument, "NAME" or "pod/NAME".
func PodName(arg string) (string, error) {
	typ, name, ok := strings.Cut(arg, "/")
	if !ok {
		return arg, nil
	}
	if !podTypeNames[strings.ToLower(typ)] || name == "" {
		return "", fmt.Errorf("%q is not a pod: podctl works on pods only", arg)
	}
	return name, nil
}

// DecodePod decodes the core/v1 Pod JSON the daemon sends.
func DecodePod(p *poddv1.Pod) (*corev1.Pod, error) {
	var pod corev1.Pod
	if err := json.Unmarshal(p.GetJson(), &pod); err != nil {
		return nil, fmt.Errorf("decode pod from daemon: %w", err)
	}
	pod.APIVersion, pod.Kind = "v1", "Pod"
	return &pod, nil
}

// ContainerFor picks the container a command works on: name if given (it
// must exist), else the default-container annotation, else the first
// container. It returns a notice to print when it chose among several.
func ContainerFor(pod *corev1.Pod, name string) (container, notice string, err error) {
	if name != "" {
		if !hasContainer(pod, name) {
			return "", "", fmt.Errorf("container %s is not valid for pod %s out of: %s", name, pod.Name, allContainerNames(pod))
		}
		return name, "", nil
	}
	if len(pod.Spec.Containers) == 0 {
		return "", "", fmt.Errorf("pod %s/%s does not have any containers", pod.Namespace, pod.Name)
	}
	if def := pod.Annotations[DefaultContainerAnnotation]; def != "" && hasContainer(pod, def) {
		return def, "", nil
	}
	first := pod.Spec.Containers[0].Name
	if len(pod.Spec.Containers) > 1 || len(pod.Spec.InitContainers) > 0 {
		notice = fmt.Sprintf("Defaulted container %q out of: %s", first, allContainerNames(pod))
	}
	return first, notice, nil
}

func hasContainer(pod *corev1.Pod, name string) bool {
	for _, list := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range list {
			if c.Name == name {
				return true
			}
		}
	}
	return false
}

func allContainerNames(pod *corev1.Pod) string {
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name+" (init)")
	}
	return strings.Join(names, ", ")
}

// namespaceOrDefault returns ns, or "default" when empty.
func namespaceOrDefault(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}
