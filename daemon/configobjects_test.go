package daemon

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/manifest"
)

// An applied ConfigMap or Secret is pushed to exactly the pods that read
// it: through a volume, a projected source, env, envFrom or (a Secret)
// imagePullSecrets, in any container.
func TestRefersTo(t *testing.T) {
	ref := corev1.LocalObjectReference{Name: "x"}
	cases := []struct {
		name string
		spec corev1.PodSpec
		cm   bool
		sec  bool
	}{
		{"nothing", corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}, false, false},
		{"configMap volume", corev1.PodSpec{Volumes: []corev1.Volume{{VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: ref}}}}}, true, false},
		{"secret volume", corev1.PodSpec{Volumes: []corev1.Volume{{VolumeSource: corev1.VolumeSource{
			Secret: &corev1.SecretVolumeSource{SecretName: "x"}}}}}, false, true},
		{"projected sources", corev1.PodSpec{Volumes: []corev1.Volume{{VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: ref}},
				{Secret: &corev1.SecretProjection{LocalObjectReference: ref}}}}}}}}, true, true},
		{"another name", corev1.PodSpec{Volumes: []corev1.Volume{{VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "y"}}}}}}, false, false},
		{"init container envFrom", corev1.PodSpec{InitContainers: []corev1.Container{{EnvFrom: []corev1.EnvFromSource{
			{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: ref}}}}}}, false, true},
		{"env configMapKeyRef", corev1.PodSpec{Containers: []corev1.Container{{Env: []corev1.EnvVar{{Name: "A",
			ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: ref, Key: "k"}}}}}}}, true, false},
		{"imagePullSecrets", corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{ref}}, false, true},
	}
	for _, tc := range cases {
		pod := &corev1.Pod{Spec: tc.spec}
		if got := refersTo(pod, manifest.KindConfigMap, "x"); got != tc.cm {
			t.Errorf("%s: refers to configmap x = %v, want %v", tc.name, got, tc.cm)
		}
		if got := refersTo(pod, manifest.KindSecret, "x"); got != tc.sec {
			t.Errorf("%s: refers to secret x = %v, want %v", tc.name, got, tc.sec)
		}
	}
}
