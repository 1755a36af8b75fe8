package manifest

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestDefault_KubernetesDefaults(t *testing.T) {
	pods, _, err := Decode([]byte(`apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  hostNetwork: true
  volumes: [{name: v}, {name: h, hostPath: {path: /tmp}}]
  containers:
  - name: a
    image: nginx
    ports: [{containerPort: 80}]
    resources: {limits: {cpu: 500m, memory: 64Mi}, requests: {cpu: 100m}}
    livenessProbe: {httpGet: {port: 80}}
    env: [{name: NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
  - {name: b, image: "reg:5000/nginx:1.25"}
  - {name: c, image: "nginx@sha256:0000000000000000000000000000000000000000000000000000000000000000"}
`), "t")
	if err != nil {
		t.Fatal(err)
	}
	p := pods[0]
	Default(p)
	s := p.Spec
	if p.Namespace != "default" || s.RestartPolicy != corev1.RestartPolicyAlways || *s.TerminationGracePeriodSeconds != 30 ||
		s.DNSPolicy != corev1.DNSClusterFirst {
		t.Errorf("pod defaults: ns %q restart %q grace %d dns %q", p.Namespace, s.RestartPolicy, *s.TerminationGracePeriodSeconds, s.DNSPolicy)
	}
	a := s.Containers[0]
	if a.ImagePullPolicy != corev1.PullAlways || s.Containers[1].ImagePullPolicy != corev1.PullIfNotPresent ||
		s.Containers[2].ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("pull policies %q %q %q", a.ImagePullPolicy, s.Containers[1].ImagePullPolicy, s.Containers[2].ImagePullPolicy)
	}
	if a.Ports[0].Protocol != corev1.ProtocolTCP || a.Ports[0].HostPort != 80 {
		t.Errorf("port %+v, want TCP and hostPort 80 (hostNetwork)", a.Ports[0])
	}
	if a.TerminationMessagePath != "/dev/termination-log" || a.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
		t.Errorf("termination message %q %q", a.TerminationMessagePath, a.TerminationMessagePolicy)
	}
	lp := a.LivenessProbe
	if lp.PeriodSeconds != 10 || lp.TimeoutSeconds != 1 || lp.SuccessThreshold != 1 || lp.FailureThreshold != 3 ||
		lp.HTTPGet.Path != "/" || lp.HTTPGet.Scheme != corev1.URISchemeHTTP {
		t.Errorf("R44 probe defaults: %+v", lp)
	}
	if q := a.Resources.Requests[corev1.ResourceMemory]; q.Cmp(resource.MustParse("64Mi")) != 0 {
		t.Errorf("memory request %s, want the limit 64Mi", q.String())
	}
	if q := a.Resources.Requests[corev1.ResourceCPU]; q.Cmp(resource.MustParse("100m")) != 0 {
		t.Errorf("cpu request %s, want the given 100m", q.String())
	}
	if a.Env[0].ValueFrom.FieldRef.APIVersion != "v1" {
		t.Errorf("fieldRef apiVersion not defaulted")
	}
	if s.Volumes[0].EmptyDir == nil || *s.Volumes[1].HostPath.Type != corev1.HostPathUnset {
		t.Errorf("volume defaults: %+v", s.Volumes)
	}
	again := p.DeepCopy()
	Default(again)
	if !reflect.DeepEqual(p, again) {
		t.Errorf("Default is not idempotent")
	}
}

func TestSpecHash_R3_StableAcrossDefaultingAndKeyOrder(t *testing.T) {
	a := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n  labels: {x: '1', y: '2'}\nspec:\n  containers: [{name: c, image: busybox}]\n"
	b := "apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {y: '2', x: '1'}\n  name: a\nspec:\n  restartPolicy: Always\n" +
		"  terminationGracePeriodSeconds: 30\n  containers: [{image: busybox, name: c, imagePullPolicy: Always}]\n"
	pa, _, err := Parse([]byte(a), "a", Policy{})
	if err != nil {
		t.Fatal(err)
	}
	pb, _, _ := Decode([]byte(b), "b") // not defaulted: SpecHash defaults a copy
	if SpecHash(pa[0]) != SpecHash(pb[0]) {
		t.Errorf("same pod hashes differently")
	}
	changed := pa[0].DeepCopy()
	changed.Labels["x"] = "3"
	if SpecHash(changed) == SpecHash(pa[0]) {
		t.Errorf("label change did not change the hash")
	}
	changed = pa[0].DeepCopy()
	changed.Spec.Containers[0].Image = "busybox:1"
	if SpecHash(changed) == SpecHash(pa[0]) {
		t.Errorf("image change did not change the hash")
	}
}
