package spec

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type fakeObjects struct {
	cms     map[string]*corev1.ConfigMap
	secrets map[string]*corev1.Secret
}

func (f fakeObjects) ConfigMap(name string) (*corev1.ConfigMap, bool) {
	cm, ok := f.cms[name]
	return cm.DeepCopy(), ok
}

func (f fakeObjects) Secret(name string) (*corev1.Secret, bool) {
	s, ok := f.secrets[name]
	return s.DeepCopy(), ok
}

var envObjects = fakeObjects{
	cms: map[string]*corev1.ConfigMap{"cfg": {Data: map[string]string{"MODE": "prod", "LEVEL": "3", "dotted.key": "x", "1ST": "y", "2ND": "z"}}},
	secrets: map[string]*corev1.Secret{"sec": {Data: map[string][]byte{"PASSWORD": []byte("hunter2")},
		StringData: map[string]string{"TOKEN": "t"}}},
}

func ptrTo[T any](v T) *T { return &v }

func cmKey(name, key string, optional bool) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: ptrTo(optional)}}
}

func secretKey(name, key string, optional bool) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key, Optional: ptrTo(optional)}}
}

// env and envFrom read ConfigMaps and Secrets as the kubelet does.
func TestContainerEnv_ConfigMapAndSecretRefs(t *testing.T) {
	cmFrom := func(name, prefix string, optional bool) corev1.EnvFromSource {
		return corev1.EnvFromSource{Prefix: prefix, ConfigMapRef: &corev1.ConfigMapEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}, Optional: ptrTo(optional)}}
	}
	secretFrom := func(name, prefix string, optional bool) corev1.EnvFromSource {
		return corev1.EnvFromSource{Prefix: prefix, SecretRef: &corev1.SecretEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}, Optional: ptrTo(optional)}}
	}
	cases := []struct {
		name    string
		from    []corev1.EnvFromSource
		env     []corev1.EnvVar
		want    []string
		wantErr string
	}{
		{name: "configMapKeyRef and secretKeyRef", env: []corev1.EnvVar{
			{Name: "M", ValueFrom: cmKey("cfg", "MODE", false)}, {Name: "P", ValueFrom: secretKey("sec", "PASSWORD", false)},
			{Name: "T", ValueFrom: secretKey("sec", "TOKEN", false)}, {Name: "X", Value: "$(M)-$(T)"}},
			want: []string{"M=prod", "P=hunter2", "T=t", "X=prod-t"}},
		{name: "missing key names object and key", env: []corev1.EnvVar{{Name: "M", ValueFrom: cmKey("cfg", "NOPE", false)}},
			wantErr: `env "M": couldn't find key NOPE in ConfigMap shop/cfg`},
		{name: "missing secret key", env: []corev1.EnvVar{{Name: "P", ValueFrom: secretKey("sec", "NOPE", false)}},
			wantErr: `env "P": couldn't find key NOPE in Secret shop/sec`},
		{name: "missing configMap", env: []corev1.EnvVar{{Name: "M", ValueFrom: cmKey("gone", "MODE", false)}},
			wantErr: `env "M": configmap "gone" not found`},
		{name: "missing secret", env: []corev1.EnvVar{{Name: "M", ValueFrom: secretKey("gone", "K", false)}},
			wantErr: `env "M": secret "gone" not found`},
		{name: "optional missing key and object are left out", env: []corev1.EnvVar{
			{Name: "A", ValueFrom: cmKey("cfg", "NOPE", true)}, {Name: "B", ValueFrom: secretKey("gone", "K", true)}, {Name: "C", Value: "c"}},
			want: []string{"C=c"}},
		{name: "envFrom with prefix skips invalid names, env overrides", from: []corev1.EnvFromSource{cmFrom("cfg", "", false), secretFrom("sec", "S_", false)},
			env:  []corev1.EnvVar{{Name: "MODE", Value: "dev-$(S_TOKEN)"}},
			want: []string{"LEVEL=3", "MODE=dev-t", "S_PASSWORD=hunter2", "S_TOKEN=t", "dotted.key=x"}},
		{name: "envFrom prefix makes a key valid", from: []corev1.EnvFromSource{cmFrom("cfg", "P_", false)},
			want: []string{"P_1ST=y", "P_2ND=z", "P_LEVEL=3", "P_MODE=prod", "P_dotted.key=x"}},
		{name: "envFrom missing object", from: []corev1.EnvFromSource{secretFrom("gone", "", false)},
			wantErr: `envFrom[0]: secret "gone" not found`},
		{name: "envFrom optional missing object", from: []corev1.EnvFromSource{cmFrom("gone", "", true)}, want: []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "shop"}}
			in := &Input{Pod: pod, Container: &corev1.Container{Name: "c", EnvFrom: tc.from, Env: tc.env}, Objects: envObjects}
			order, vars, err := containerEnv(in, pod)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, n := range order {
				got = append(got, n+"="+vars[n])
			}
			if !reflect.DeepEqual(sortedCopy(got), tc.want) {
				t.Errorf("env = %q, want %q", got, tc.want)
			}
		})
	}
}

func sortedCopy(in []string) []string {
	out := append([]string{}, in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// Keys that are not env var names are reported in the kubelet's words,
// never with their values.
func TestInvalidEnvFrom(t *testing.T) {
	c := &corev1.Container{Name: "c", EnvFrom: []corev1.EnvFromSource{
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}},
		{Prefix: "P_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}},
		{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}}},
	}}
	got := InvalidEnvFrom(c, "shop", envObjects)
	want := []string{"Keys [1ST, 2ND] from the EnvFrom configMap shop/cfg were skipped since they are considered invalid environment variable names."}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("InvalidEnvFrom = %q\nwant %q", got, want)
	}
	for _, m := range got {
		if strings.Contains(m, "hunter2") {
			t.Errorf("message shows a secret value: %s", m)
		}
	}
}
