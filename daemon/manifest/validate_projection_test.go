package manifest

import (
	"strings"
	"testing"
)

// ConfigMaps and Secrets as volumes and env sources are validated like the
// API server validates them; what needs an API server is refused by name.
func TestParse_ConfigMapSecretProjectedAndEnvRefs(t *testing.T) {
	vol := func(v string) string { return podVol("a", "{name: v, mountPath: /d}", v) }
	env := func(e string) string { return pod("a", "  - name: c\n    image: busybox\n"+e) }
	cases := []struct {
		name, manifest, err string
	}{
		{"configMap volume", vol("{name: v, configMap: {name: cfg}}"), ""},
		{"configMap volume with items, modes, optional", vol("{name: v, configMap: {name: cfg, defaultMode: 0400, optional: true, " +
			"items: [{key: a, path: x/a, mode: 0600}, {key: b.txt, path: b}]}}"), ""},
		{"configMap volume without a name", vol("{name: v, configMap: {}}"), "spec.volumes[0].configMap.name: Required value"},
		{"configMap volume bad name", vol("{name: v, configMap: {name: Bad_Name}}"), `spec.volumes[0].configMap.name: Invalid value: "Bad_Name"`},
		{"configMap item bad key", vol("{name: v, configMap: {name: c, items: [{key: 'a/b', path: x}]}}"),
			`spec.volumes[0].configMap.items[0].key: Invalid value: "a/b"`},
		{"configMap item without path", vol("{name: v, configMap: {name: c, items: [{key: a}]}}"),
			"spec.volumes[0].configMap.items[0].path: Required value"},
		{"configMap item absolute path", vol("{name: v, configMap: {name: c, items: [{key: a, path: /x}]}}"),
			`spec.volumes[0].configMap.items[0].path: Invalid value: "/x": must be a relative path`},
		{"configMap item path with ..", vol("{name: v, configMap: {name: c, items: [{key: a, path: x/../../y}]}}"),
			`spec.volumes[0].configMap.items[0].path: Invalid value: "x/../../y": must not contain '..'`},
		{"configMap item path starting with ..", vol("{name: v, configMap: {name: c, items: [{key: a, path: ..data}]}}"),
			`spec.volumes[0].configMap.items[0].path: Invalid value: "..data": must not start with '..'`},
		{"configMap items duplicate path", vol("{name: v, configMap: {name: c, items: [{key: a, path: x}, {key: b, path: x}]}}"),
			`spec.volumes[0].configMap.items[1].path: Duplicate value: "x"`},
		{"configMap mode out of range", vol("{name: v, configMap: {name: c, defaultMode: 01000}}"),
			"spec.volumes[0].configMap.defaultMode: Invalid value: 512"},
		{"configMap item mode out of range", vol("{name: v, configMap: {name: c, items: [{key: a, path: a, mode: -1}]}}"),
			"spec.volumes[0].configMap.items[0].mode: Invalid value: -1"},
		{"configMap item user", vol("{name: v, configMap: {name: c, items: [{key: a, path: a, user: 1000}]}}"),
			"spec.volumes[0].configMap.items[0].user: Forbidden"},
		{"secret volume", vol("{name: v, secret: {secretName: s, defaultMode: 0400, items: [{key: k, path: k}]}}"), ""},
		{"secret volume without a name", vol("{name: v, secret: {}}"), "spec.volumes[0].secret.secretName: Required value"},
		{"secret volume defaultUser", vol("{name: v, secret: {secretName: s, defaultUser: 0}}"), "spec.volumes[0].secret.defaultUser: Forbidden"},
		{"projected volume", vol("{name: v, projected: {defaultMode: 0440, sources: [{configMap: {name: c}}, " +
			"{secret: {name: s, items: [{key: k, path: s/k}]}}, {downwardAPI: {items: [{path: pname, fieldRef: {fieldPath: metadata.name}}]}}]}}"), ""},
		{"projected serviceAccountToken", vol("{name: v, projected: {sources: [{serviceAccountToken: {path: token}}]}}"),
			"spec.volumes[0].projected.sources[0].serviceAccountToken: Forbidden: not supported by podd: there is no API server to issue it"},
		{"projected clusterTrustBundle", vol("{name: v, projected: {sources: [{clusterTrustBundle: {path: b, name: x}}]}}"),
			"spec.volumes[0].projected.sources[0].clusterTrustBundle: Forbidden"},
		{"projected empty source", vol("{name: v, projected: {sources: [{}]}}"),
			"spec.volumes[0].projected.sources[0]: Required value"},
		{"projected two kinds in one source", vol("{name: v, projected: {sources: [{configMap: {name: c}, secret: {name: s}}]}}"),
			"spec.volumes[0].projected.sources[0]: Forbidden: may not specify more than 1 volume type per source"},
		{"projected duplicate path across sources", vol("{name: v, projected: {sources: [{configMap: {name: c, items: [{key: a, path: x}]}}, " +
			"{downwardAPI: {items: [{path: x, fieldRef: {fieldPath: metadata.name}}]}}]}}"),
			`spec.volumes[0].projected.sources[1].downwardAPI.items[0].path: Duplicate value: "x"`},
		{"subPath into a configMap volume", podVol("a", "{name: v, mountPath: /etc/app.conf, subPath: app.conf}", "{name: v, configMap: {name: c}}"), ""},
		{"configMapKeyRef", env("    env: [{name: X, valueFrom: {configMapKeyRef: {name: c, key: k, optional: true}}}]\n"), ""},
		{"secretKeyRef", env("    env: [{name: X, valueFrom: {secretKeyRef: {name: s, key: k}}}]\n"), ""},
		{"configMapKeyRef without key", env("    env: [{name: X, valueFrom: {configMapKeyRef: {name: c}}}]\n"),
			"spec.containers[0].env[0].valueFrom.configMapKeyRef.key: Required value"},
		{"secretKeyRef without name", env("    env: [{name: X, valueFrom: {secretKeyRef: {key: k}}}]\n"),
			"spec.containers[0].env[0].valueFrom.secretKeyRef.name: Required value"},
		{"secretKeyRef bad key", env("    env: [{name: X, valueFrom: {secretKeyRef: {name: s, key: 'a b'}}}]\n"),
			`spec.containers[0].env[0].valueFrom.secretKeyRef.key: Invalid value: "a b"`},
		{"two sources", env("    env: [{name: X, valueFrom: {secretKeyRef: {name: s, key: k}, configMapKeyRef: {name: c, key: k}}}]\n"),
			"spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not have more than one field specified at a time"},
		{"envFrom configMapRef and secretRef with prefix", env("    envFrom: [{configMapRef: {name: c}}, {prefix: S_, secretRef: {name: s, optional: true}}]\n"), ""},
		{"envFrom both refs in one", env("    envFrom: [{configMapRef: {name: c}, secretRef: {name: s}}]\n"),
			"spec.containers[0].envFrom[0]: Invalid value: \"\": may not have more than one field specified at a time"},
		{"envFrom without a source", env("    envFrom: [{prefix: P_}]\n"), "spec.containers[0].envFrom[0]: Required value"},
		{"envFrom bad prefix", env("    envFrom: [{prefix: '1=', configMapRef: {name: c}}]\n"), `spec.containers[0].envFrom[0].prefix: Invalid value: "1="`},
		{"envFrom configMapRef without name", env("    envFrom: [{configMapRef: {}}]\n"), "spec.containers[0].envFrom[0].configMapRef.name: Required value"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tc.manifest), "p.yaml", Policy{})
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("Parse err = %v, want it to contain %q", err, tc.err)
			}
		})
	}
}
