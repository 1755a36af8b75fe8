package image

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
)

func TestDockerConfigCredentials(t *testing.T) {
	auth := base64.StdEncoding.EncodeToString([]byte("bob:pa:ss"))
	cfg := `{"auths": {
		"https://index.docker.io/v1/": {"auth": "` + auth + `"},
		"127.0.0.1:5000": {"username": "u", "password": "p"},
		"http://registry.example:8443/some/path": {"identitytoken": "tok"}
	}}`
	cases := []struct {
		ref  string
		want *Credentials
	}{
		{"busybox:latest", &Credentials{Host: "index.docker.io", Username: "bob", Password: "pa:ss"}},
		{"docker.io/library/busybox", &Credentials{Host: "index.docker.io", Username: "bob", Password: "pa:ss"}},
		{"127.0.0.1:5000/app:v1", &Credentials{Host: "127.0.0.1:5000", Username: "u", Password: "p"}},
		{"registry.example:8443/team/app@sha256:" + strings.Repeat("a", 64), &Credentials{Host: "registry.example:8443", IdentityToken: "tok"}},
		{"127.0.0.1:5001/app:v1", nil},
		{"quay.io/x/y", nil},
	}
	for _, tc := range cases {
		got, ok, err := DockerConfigCredentials([]byte(cfg), tc.ref)
		if err != nil || ok != (tc.want != nil) || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, %v, %v; want %+v", tc.ref, got, ok, err, tc.want)
		}
	}
	for _, bad := range []string{`{not json`, `{"auths": {"127.0.0.1:5000": {"auth": "!!"}}}`,
		`{"auths": {"127.0.0.1:5000": {"auth": "` + base64.StdEncoding.EncodeToString([]byte("nocolon")) + `"}}}`} {
		_, _, err := DockerConfigCredentials([]byte(bad), "127.0.0.1:5000/app")
		if err == nil {
			t.Errorf("%s: accepted", bad)
		} else if strings.Contains(err.Error(), "nocolon") {
			t.Errorf("error quotes the config: %v", err)
		}
	}
}
