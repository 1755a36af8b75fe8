package manifest

import (
	"encoding/json"
	"testing"

	"sigs.k8s.io/yaml"
)

// FuzzParse feeds arbitrary manifests to the one decode/default/validate
// path: it must never panic, and what it accepts must be stable: the
// accepted pod, encoded and parsed again, is accepted as the same pod.
func FuzzParse(f *testing.F) {
	f.Add([]byte(fullPod))
	f.Add([]byte(pod("a", "") + "---\n" + pod("b", "")))
	f.Add([]byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"j"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`))
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: s}\nspec:\n  securityContext: {sysctls: [{name: net/../../kernel/core_pattern, value: x}]}\n  containers: [{name: c, image: busybox, volumeMounts: [{name: v, mountPath: /x, subPath: ../..}]}]\n  volumes: [{name: v, emptyDir: {}}]\n"))
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata: {name: g}\nspec:\n  terminationGracePeriodSeconds: 9223372036854775807\n  activeDeadlineSeconds: 9223372036854775807\n  containers: [{name: c, image: busybox}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pods, _, err := Parse(data, "fuzz.yaml", Policy{})
		if err != nil {
			return
		}
		for _, p := range pods {
			j, err := json.Marshal(p)
			if err != nil {
				t.Fatalf("accepted pod does not encode: %v", err)
			}
			y, err := yaml.JSONToYAML(j)
			if err != nil {
				t.Fatalf("accepted pod does not convert to YAML: %v", err)
			}
			again, _, err := Parse(y, "again.yaml", Policy{})
			if err != nil {
				t.Fatalf("accepted pod is refused once encoded: %v\n%s", err, y)
			}
			if len(again) != 1 || SpecHash(again[0]) != SpecHash(p) {
				t.Fatalf("accepted pod changes once encoded:\n%s", y)
			}
		}
	})
}
