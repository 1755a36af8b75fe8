package manifest

import (
	"strings"
	"testing"
)

func TestWarnings_NameIgnoredFields(t *testing.T) {
	m := `apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  nodeSelector: {disk: ssd}
  nodeName: other
  tolerations: [{operator: Exists}]
  serviceAccountName: builder
  imagePullSecrets: [{name: creds}]
  priorityClassName: high
  readinessGates: [{conditionType: x}]
  securityContext: {seccompProfile: {type: RuntimeDefault}, windowsOptions: {runAsUserName: x}}
  volumes: [{name: v, emptyDir: {sizeLimit: 1Gi}}]
  containers:
  - name: c
    image: busybox
    resources: {limits: {ephemeral-storage: 1Gi}}
    lifecycle: {preStop: {tcpSocket: {port: 80}}}
`
	_, warns, err := Parse([]byte(m), "w.yaml", Policy{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"spec.nodeSelector is ignored", "spec.nodeName is ignored", "spec.tolerations is ignored",
		"spec.serviceAccountName is ignored", "spec.priorityClassName is ignored",
		"spec.readinessGates is ignored", "spec.securityContext.windowsOptions is ignored",
		"spec.volumes[0].emptyDir.sizeLimit is ignored", "spec.containers[0].resources.limits[ephemeral-storage] is ignored",
		"spec.containers[0].lifecycle.preStop.tcpSocket is ignored",
	}
	all := strings.Join(warns, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("warnings lack %q:\n%s", w, all)
		}
	}
	if len(warns) != len(want) {
		t.Errorf("got %d warnings, want %d:\n%s", len(warns), len(want), all)
	}
	if !strings.HasPrefix(warns[0], `w.yaml: pod "a": `) {
		t.Errorf("warning %q does not name source and pod", warns[0])
	}
}
