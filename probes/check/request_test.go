package check

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestResolvePort_R48(t *testing.T) {
	ports := []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "grpc", ContainerPort: 9090}}
	tests := []struct {
		name    string
		port    intstr.IntOrString
		want    int
		wantErr bool
	}{
		{"number", intstr.FromInt32(80), 80, false},
		{"name", intstr.FromString("grpc"), 9090, false},
		{"number as string", intstr.FromString("81"), 81, false},
		{"unknown name", intstr.FromString("metrics"), 0, true},
		{"zero", intstr.FromInt32(0), 0, true},
		{"too big", intstr.FromInt32(70000), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolvePort(tt.port, ports)
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Fatalf("ResolvePort(%v) = (%d, %v), want (%d, err %v)", tt.port, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestHTTPGetRequestFor_R48_Defaults(t *testing.T) {
	ports := []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	a := &corev1.HTTPGetAction{
		Path:        "/healthz?full=1",
		Port:        intstr.FromString("http"),
		Scheme:      corev1.URISchemeHTTPS,
		HTTPHeaders: []corev1.HTTPHeader{{Name: "X-Probe", Value: "1"}},
	}
	r, err := HTTPGetRequestFor(a, HostFor("10.88.0.5", false), ports, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.URL().String(), "https://10.88.0.5:8080/healthz?full=1"; got != want {
		t.Fatalf("URL = %q, want %q", got, want)
	}
	if r.Headers.Get("X-Probe") != "1" || r.Timeout != 2*time.Second {
		t.Fatalf("request = %+v", r)
	}

	a = &corev1.HTTPGetAction{Path: "healthz", Port: intstr.FromInt32(80)}
	r, err = HTTPGetRequestFor(a, HostFor("10.88.0.5", true), nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.URL().String(), "http://127.0.0.1:80/healthz"; got != want {
		t.Fatalf("hostNetwork URL = %q, want %q", got, want)
	}

	a = &corev1.HTTPGetAction{Host: "example.test", Port: intstr.FromInt32(80)}
	if r, _ = HTTPGetRequestFor(a, "10.88.0.5", nil, time.Second); r.Host != "example.test" {
		t.Fatalf("explicit host lost: %+v", r)
	}

	if _, err := HTTPGetRequestFor(&corev1.HTTPGetAction{Port: intstr.FromString("nope")}, "10.88.0.5", ports, time.Second); err == nil {
		t.Fatal("unknown port name accepted")
	}
	if _, err := HTTPGetRequestFor(&corev1.HTTPGetAction{Port: intstr.FromInt32(80)}, "", nil, time.Second); err == nil {
		t.Fatal("empty host accepted")
	}
}
