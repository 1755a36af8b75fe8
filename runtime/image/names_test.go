package image

import "testing"

func TestNormalize(t *testing.T) {
	const dgst = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct{ in, want string }{
		{"busybox", "docker.io/library/busybox:latest"},
		{"busybox:latest", "docker.io/library/busybox:latest"},
		{"busybox:1.36", "docker.io/library/busybox:1.36"},
		{"library/busybox", "docker.io/library/busybox:latest"},
		{"docker.io/busybox", "docker.io/library/busybox:latest"},
		{"docker.io/library/busybox:latest", "docker.io/library/busybox:latest"},
		{"index.docker.io/library/busybox", "docker.io/library/busybox:latest"},
		{"someone/app:v1", "docker.io/someone/app:v1"},
		{"quay.io/coreos/etcd", "quay.io/coreos/etcd:latest"},
		{"localhost/app", "localhost/app:latest"},
		{"localhost:5000/app:1", "localhost:5000/app:1"},
		{"127.0.0.1:5000/a/b/c:x", "127.0.0.1:5000/a/b/c:x"},
		{"busybox@" + dgst, "docker.io/library/busybox@" + dgst},
		{"busybox:1.36@" + dgst, "docker.io/library/busybox@" + dgst},
	} {
		got, err := Normalize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "BusyBox", "busybox:", "a b", "sha256:abcd", "http://reg/x", "busybox@sha256:short"} {
		if got, err := Normalize(bad); err == nil {
			t.Errorf("Normalize(%q) = %q, want an error", bad, got)
		}
	}
}

func TestRefRepo(t *testing.T) {
	for in, want := range map[string]string{
		"docker.io/library/busybox:latest":     "docker.io/library/busybox",
		"localhost:5000/app:1":                 "localhost:5000/app",
		"localhost:5000/app@sha256:00":         "localhost:5000/app",
		"docker.io/library/busybox@sha256:abc": "docker.io/library/busybox",
	} {
		if got := refRepo(in); got != want {
			t.Errorf("refRepo(%q) = %q, want %q", in, got, want)
		}
	}
}
