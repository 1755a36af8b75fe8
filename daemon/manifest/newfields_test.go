package manifest

import (
	"strings"
	"testing"
)

// TestParse_FieldsNewInKubernetes135To137 decodes pods that use fields
// added to core/v1 between k8s.io/api v0.34 and v0.37. Decoding is strict,
// so each must be known to the decoder (never "unknown field"); then podd
// either honours it, warns that it is ignored (scheduling and eviction, which
// podd does not do), or refuses it with an error naming the field: a field
// that would change how the pod runs is never silently dropped.
func TestParse_FieldsNewInKubernetes135To137(t *testing.T) {
	probe := func(handler string) string {
		return pod("a", "  - name: c\n    image: busybox\n    ports: [{containerPort: 80}]\n    readinessProbe: "+handler+"\n")
	}
	hook := func(handler string) string {
		return pod("a", "  - name: c\n    image: busybox\n    lifecycle: {preStop: "+handler+"}\n")
	}
	withSpec := func(field string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  " + field + "\n  containers: [{name: c, image: busybox}]\n"
	}
	cases := []struct {
		name, manifest string
		err            string // substring of the Parse error; "" when accepted
		warn           string // substring of a warning when accepted
	}{
		{"httpGet protocol HTTP1", probe("{httpGet: {port: 80, path: /, protocol: HTTP1}}"), "", ""},
		{"httpGet protocol HTTP2", probe("{httpGet: {port: 80, path: /, protocol: HTTP2}}"),
			`spec.containers[0].readinessProbe.httpGet.protocol: Unsupported value: "HTTP2"`, ""},
		{"preStop httpGet protocol HTTP2", hook("{httpGet: {port: 80, path: /, protocol: HTTP2}}"),
			`spec.containers[0].lifecycle.preStop.httpGet.protocol: Unsupported value: "HTTP2"`, ""},
		{"grpc mode Plaintext", probe("{grpc: {port: 80, mode: Plaintext}}"), "", ""},
		{"grpc mode TLS", probe("{grpc: {port: 80, mode: TLS}}"),
			`spec.containers[0].readinessProbe.grpc.mode: Unsupported value: "TLS"`, ""},
		{"volumeMount bindMountOptions", podVol("a", "{name: v, mountPath: /d, bindMountOptions: [noexec]}", "{name: v, emptyDir: {}}"),
			`spec.containers[0].volumeMounts[0].bindMountOptions: Forbidden`, ""},
		{"emptyDir mode", podVol("a", "{name: v, mountPath: /d}", "{name: v, emptyDir: {mode: 0755}}"),
			`spec.volumes[0].emptyDir.mode: Forbidden`, ""},
		{"downwardAPI defaultUser", podVol("a", "{name: v, mountPath: /d}", "{name: v, downwardAPI: {defaultUser: 1000, items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}}"),
			`spec.volumes[0].downwardAPI.defaultUser: Forbidden`, ""},
		{"downwardAPI item user", podVol("a", "{name: v, mountPath: /d}", "{name: v, downwardAPI: {items: [{path: name, user: 1000, fieldRef: {fieldPath: metadata.name}}]}}"),
			`spec.volumes[0].downwardAPI.items[0].user: Forbidden`, ""},
		{"configMap volume defaultUser", podVol("a", "{name: v, mountPath: /d}", "{name: v, configMap: {name: x, defaultUser: 1000}}"),
			`spec.volumes[0].configMap.defaultUser: Forbidden`, ""},
		{"schedulingGroup", withSpec("schedulingGroup: {podGroupName: g}"), "", "spec.schedulingGroup is ignored"},
		{"evictionResponders", withSpec("evictionResponders: [{name: example.com/drain, priority: 10}]"), "", "spec.evictionResponders is ignored"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := Decode([]byte(tc.manifest), "new.yaml"); err != nil {
				t.Fatalf("Decode: %v; want the field known to the decoder", err)
			}
			pods, warns, err := Parse([]byte(tc.manifest), "new.yaml", Policy{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse err = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil || len(pods) != 1 {
				t.Fatalf("Parse = %d pods, %v; want the pod accepted", len(pods), err)
			}
			if tc.warn == "" {
				if len(warns) != 0 {
					t.Errorf("warnings %q, want none", warns)
				}
				return
			}
			if len(warns) != 1 || !strings.Contains(warns[0], tc.warn) {
				t.Errorf("warnings %q, want one containing %q", warns, tc.warn)
			}
		})
	}
}
