package podworker

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/runtime/image"
	"github.com/podd-dev/podd/runtime/spec"
)

func dockerSecret(cfg string) *corev1.Secret {
	return &corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(cfg)}}
}

// imagePullSecrets resolve to the first dockerconfigjson Secret with
// credentials for the image's registry; missing ones are a warning event
// that names them, never their content.
func TestPullCredentialsFromImagePullSecrets(t *testing.T) {
	objs := &fakeObjects{cms: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{
		"opaque":    {Type: corev1.SecretTypeOpaque, Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths": {"reg.example": {"username": "x", "password": "y"}}}`)}},
		"other":     dockerSecret(`{"auths": {"elsewhere.example": {"username": "o", "password": "o"}}}`),
		"broken":    dockerSecret(`{hunter2`),
		"reg":       dockerSecret(`{"auths": {"https://reg.example:5000/v2/": {"username": "u", "password": "hunter2"}}}`),
		"reg-again": dockerSecret(`{"auths": {"reg.example:5000": {"username": "late", "password": "late"}}}`),
	}}
	cases := []struct {
		name    string
		secrets []string
		want    *image.Credentials
		event   string
	}{
		{"none", nil, nil, ""},
		{"first match wins, others skipped", []string{"opaque", "other", "broken", "reg", "reg-again"},
			&image.Credentials{Host: "reg.example:5000", Username: "u", Password: "hunter2"}, ""},
		{"missing secrets are named", []string{"gone", "reg", "gone2"},
			&image.Credentials{Host: "reg.example:5000", Username: "u", Password: "hunter2"},
			"Unable to retrieve some image pull secrets (default/gone, default/gone2); attempting to pull the image may not succeed."},
		{"no credentials for the host", []string{"other"}, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := testPod("pull-" + strings.ReplaceAll(tc.name, " ", "-"))
			for _, s := range tc.secrets {
				pod.Spec.ImagePullSecrets = append(pod.Spec.ImagePullSecrets, corev1.LocalObjectReference{Name: s})
			}
			h := podworkertest.NewHost()
			deps := testDeps(t, h)
			deps.Objects = func(string) spec.Objects { return objs }
			w := New(deps, pod, nil)
			got := w.pullCredentials("reg.example:5000/team/app:v1", "spec.containers{app}")
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("credentials = %+v, want %+v", got, tc.want)
			}
			var msgs []string
			for _, e := range deps.Events.Pod(w.uid) {
				if strings.Contains(e.Message, "hunter2") {
					t.Errorf("event shows a secret: %+v", e)
				}
				if e.Reason == "FailedToRetrieveImagePullSecret" {
					msgs = append(msgs, e.Message)
				}
			}
			if (tc.event == "") != (len(msgs) == 0) || (tc.event != "" && msgs[0] != tc.event) {
				t.Errorf("events %q, want %q", msgs, tc.event)
			}
		})
	}
}
