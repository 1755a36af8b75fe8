package spec

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/runtime/image"
	"github.com/podd-dev/podd/runtime/spec/downward"
)

// Expand replaces `$(NAME)` in s with vars[NAME] (R90). `$$` is an escaped
// `$`; a reference to an unknown name, an unclosed `$(` and any other `$`
// stay as written.
func Expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// containerEnv resolves the container's env in declaration order: values
// expand from the vars defined before them, valueFrom reads the downward API.
// It returns the ordered names and their values (a repeated name keeps its
// first position and its last value), as the kubelet does. Image env takes
// no part in expansion: the kubelet never sees it.
func containerEnv(in *Input, pod *corev1.Pod) ([]string, map[string]string, error) {
	vars := map[string]string{}
	var order []string
	for _, e := range in.Container.Env {
		var v string
		switch {
		case e.ValueFrom == nil:
			v = Expand(e.Value, vars)
		case e.ValueFrom.FieldRef != nil:
			var err error
			if v, err = downward.FieldValue(pod, e.ValueFrom.FieldRef.FieldPath); err != nil {
				return nil, nil, fmt.Errorf("env %q: %w", e.Name, err)
			}
		case e.ValueFrom.ResourceFieldRef != nil:
			var err error
			if v, err = downward.ResourceValue(pod, in.Container.Name, e.ValueFrom.ResourceFieldRef, in.NodeAllocatable); err != nil {
				return nil, nil, fmt.Errorf("env %q: %w", e.Name, err)
			}
		default:
			return nil, nil, fmt.Errorf("env %q: unsupported valueFrom source", e.Name)
		}
		if _, seen := vars[e.Name]; !seen {
			order = append(order, e.Name)
		}
		vars[e.Name] = v
	}
	return order, vars, nil
}

// mergeEnv overlays the container's env on the image's: a name the image
// sets keeps its place with the container's value; new names follow.
func mergeEnv(imageEnv []string, order []string, vars map[string]string) []string {
	out := make([]string, 0, len(imageEnv)+len(order))
	index := map[string]int{}
	for _, kv := range imageEnv {
		name, _, _ := strings.Cut(kv, "=")
		if i, ok := index[name]; ok {
			out[i] = kv
			continue
		}
		index[name] = len(out)
		out = append(out, kv)
	}
	for _, name := range order {
		kv := name + "=" + vars[name]
		if i, ok := index[name]; ok {
			out[i] = kv
			continue
		}
		index[name] = len(out)
		out = append(out, kv)
	}
	return out
}

// commandLine merges command and args with the image (R90): command
// replaces ENTRYPOINT and drops CMD; args alone replace CMD. Only the
// container's own strings are expanded.
func commandLine(c *corev1.Container, img image.Config, vars map[string]string) ([]string, error) {
	expand := func(in []string) []string {
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = Expand(s, vars)
		}
		return out
	}
	var argv []string
	switch {
	case len(c.Command) > 0:
		argv = append(expand(c.Command), expand(c.Args)...)
	case len(c.Args) > 0:
		argv = append(append([]string{}, img.Entrypoint...), expand(c.Args)...)
	default:
		argv = append(append([]string{}, img.Entrypoint...), img.Cmd...)
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("container %q has no command: the image sets no ENTRYPOINT or CMD and the pod no command or args", c.Name)
	}
	return argv, nil
}
