package spec

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"

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

// containerEnv resolves the container's env as the kubelet does: first
// each envFrom source in order (keys that are not valid names skipped, see
// InvalidEnvFrom), then env in declaration order, values expanding from
// the vars defined before them, valueFrom reading the downward API or a
// ConfigMap or Secret key. It returns the ordered names and their values (a
// repeated name keeps its first position and its last value). Image env
// takes no part in expansion: the kubelet never sees it. A missing object
// or key that is not optional is an error naming it.
func containerEnv(in *Input, pod *corev1.Pod) ([]string, map[string]string, error) {
	vars := map[string]string{}
	var order []string
	set := func(name, v string) {
		if _, seen := vars[name]; !seen {
			order = append(order, name)
		}
		vars[name] = v
	}
	for i, f := range in.Container.EnvFrom {
		data, _, err := envFromData(f, pod.Namespace, in.Objects)
		if err != nil {
			return nil, nil, fmt.Errorf("envFrom[%d]: %w", i, err)
		}
		for _, k := range sortedKeys(data) {
			if name := f.Prefix + k; validEnvName(name) {
				set(name, data[k])
			}
		}
	}
	for _, e := range in.Container.Env {
		v, ok, err := envValue(in, pod, e, vars)
		if err != nil {
			return nil, nil, fmt.Errorf("env %q: %w", e.Name, err)
		}
		if ok {
			set(e.Name, v)
		}
	}
	return order, vars, nil
}

// envValue is the value of one env var; ok is false for an optional
// reference that is missing (the var is left out).
func envValue(in *Input, pod *corev1.Pod, e corev1.EnvVar, vars map[string]string) (string, bool, error) {
	src := e.ValueFrom
	switch {
	case src == nil:
		return Expand(e.Value, vars), true, nil
	case src.FieldRef != nil:
		v, err := downward.FieldValue(pod, src.FieldRef.FieldPath)
		return v, err == nil, err
	case src.ResourceFieldRef != nil:
		v, err := downward.ResourceValue(pod, in.Container.Name, src.ResourceFieldRef, in.NodeAllocatable)
		return v, err == nil, err
	case src.ConfigMapKeyRef != nil:
		r := src.ConfigMapKeyRef
		data, found := configMapEnv(in.Objects, r.Name)
		return keyValue("configmap", "ConfigMap", pod.Namespace, r.Name, r.Key, r.Optional, data, found)
	case src.SecretKeyRef != nil:
		r := src.SecretKeyRef
		data, found := secretEnv(in.Objects, r.Name)
		return keyValue("secret", "Secret", pod.Namespace, r.Name, r.Key, r.Optional, data, found)
	}
	return "", false, errors.New("unsupported valueFrom source")
}

// keyValue picks key from an object's data with the kubelet's messages.
func keyValue(resource, kind, ns, name, key string, optional *bool, data map[string]string, found bool) (string, bool, error) {
	opt := optional != nil && *optional
	if !found {
		if opt {
			return "", false, nil
		}
		return "", false, fmt.Errorf("%s %q not found", resource, name)
	}
	v, ok := data[key]
	if !ok {
		if opt {
			return "", false, nil
		}
		return "", false, fmt.Errorf("couldn't find key %s in %s %s/%s", key, kind, ns, name)
	}
	return v, true, nil
}

// envFromData is the data of an envFrom source; found is false for a
// missing optional object (no vars), a missing one that is not optional is
// an error.
func envFromData(f corev1.EnvFromSource, ns string, objs Objects) (map[string]string, bool, error) {
	var data map[string]string
	var found bool
	var resource, name string
	var optional *bool
	switch {
	case f.ConfigMapRef != nil:
		resource, name, optional = "configmap", f.ConfigMapRef.Name, f.ConfigMapRef.Optional
		data, found = configMapEnv(objs, name)
	case f.SecretRef != nil:
		resource, name, optional = "secret", f.SecretRef.Name, f.SecretRef.Optional
		data, found = secretEnv(objs, name)
	default:
		return nil, false, errors.New("no source")
	}
	if !found && (optional == nil || !*optional) {
		return nil, false, fmt.Errorf("%s %q not found", resource, name)
	}
	return data, found, nil
}

// InvalidEnvFrom returns, for each envFrom source of c whose keys (with
// the prefix) are not valid env var names, the kubelet's message saying
// they were skipped (event InvalidEnvironmentVariableNames).
func InvalidEnvFrom(c *corev1.Container, ns string, objs Objects) []string {
	var out []string
	for _, f := range c.EnvFrom {
		data, found, err := envFromData(f, ns, objs)
		if err != nil || !found {
			continue
		}
		var bad []string
		for _, k := range sortedKeys(data) {
			if !validEnvName(f.Prefix + k) {
				bad = append(bad, f.Prefix+k)
			}
		}
		if len(bad) == 0 {
			continue
		}
		what, name := "configMap", ""
		if f.ConfigMapRef != nil {
			name = f.ConfigMapRef.Name
		} else {
			what, name = "secret", f.SecretRef.Name
		}
		out = append(out, fmt.Sprintf("Keys [%s] from the EnvFrom %s %s/%s were skipped since they are considered invalid environment variable names.",
			strings.Join(bad, ", "), what, ns, name))
	}
	return out
}

func validEnvName(name string) bool { return len(validation.IsEnvVarName(name)) == 0 }

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// configMapEnv is a ConfigMap's data as env values (binaryData is not
// env, as in the kubelet).
func configMapEnv(objs Objects, name string) (map[string]string, bool) {
	if objs == nil {
		return nil, false
	}
	cm, ok := objs.ConfigMap(name)
	if !ok {
		return nil, false
	}
	return cm.Data, true
}

func secretEnv(objs Objects, name string) (map[string]string, bool) {
	if objs == nil {
		return nil, false
	}
	s, ok := objs.Secret(name)
	if !ok {
		return nil, false
	}
	out := make(map[string]string, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		out[k] = string(v)
	}
	for k, v := range s.StringData {
		out[k] = v
	}
	return out, true
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
