package probes

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

type recordingExecer struct{ container string }

func (e *recordingExecer) Exec(_ context.Context, container string, _ []string, _ time.Duration) (int, []byte, bool, error) {
	e.container = container
	return 3, []byte("not yet"), false, nil
}

func TestNewProber_R48_Handlers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(srv.Close)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	ports := []corev1.ContainerPort{{Name: "http", ContainerPort: int32(port)}}
	execer := &recordingExecer{}
	local := Target{PodIP: "127.0.0.1", ContainerPorts: ports, Execer: execer, ContainerID: "web-0"}
	hostNet := Target{PodIP: "192.0.2.1", HostNetwork: true, ContainerPorts: ports}

	tests := []struct {
		name    string
		handler corev1.ProbeHandler
		target  Target
		want    Result
		wantOut string
	}{
		{"exec runs in the container", corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/ready"}}},
			local, Failure, "not yet"},
		{"httpGet to the pod IP by port name", corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
			local, Success, "ok"},
		{"httpGet on hostNetwork goes to 127.0.0.1", corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(int32(port))}},
			hostNet, Success, "ok"},
		{"httpGet 404 fails", corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/nope", Port: intstr.FromString("http")}},
			local, Failure, "HTTP probe failed with statuscode: 404"},
		{"tcpSocket by number", corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString(strconv.Itoa(port))}},
			local, Success, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := newProber(&corev1.Probe{ProbeHandler: tt.handler}, tt.target)
			if err != nil {
				t.Fatal(err)
			}
			res, out, _, err := p.probe(context.Background(), 2*time.Second)
			if res != tt.want || out != tt.wantOut || err != nil {
				t.Fatalf("probe = (%v, %q, %v), want (%v, %q)", res, out, err, tt.want, tt.wantOut)
			}
		})
	}
	if execer.container != "web-0" {
		t.Fatalf("exec ran in %q, want web-0", execer.container)
	}
}

func TestNewProber_Errors(t *testing.T) {
	grpcPort := func(n int32) corev1.ProbeHandler {
		return corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: n}}
	}
	tests := []struct {
		name    string
		handler corev1.ProbeHandler
		target  Target
	}{
		{"no handler", corev1.ProbeHandler{}, Target{PodIP: "10.0.0.1"}},
		{"exec without execer", corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}, Target{}},
		{"exec without command", corev1.ProbeHandler{Exec: &corev1.ExecAction{}}, Target{Execer: &recordingExecer{}}},
		{"unknown port name", corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("web")}}, Target{PodIP: "10.0.0.1"}},
		{"tcp without pod IP", corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}, Target{}},
		{"grpc without pod IP", grpcPort(9090), Target{}},
		{"grpc port out of range", grpcPort(0), Target{PodIP: "10.0.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := newProber(&corev1.Probe{ProbeHandler: tt.handler}, tt.target); err == nil {
				t.Fatal("newProber accepted it")
			}
		})
	}
}
