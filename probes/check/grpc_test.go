package check

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// startHealthServer serves grpc.health.v1 on 127.0.0.1 and returns its port.
func startHealthServer(t *testing.T, register bool) (*health.Server, int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	if register {
		healthpb.RegisterHealthServer(srv, hs)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)
	return hs, l.Addr().(*net.TCPAddr).Port
}

func TestGRPC_R48(t *testing.T) {
	hs, port := startHealthServer(t, true)
	hs.SetServingStatus("ready", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("sick", healthpb.HealthCheckResponse_NOT_SERVING)
	_, bare := startHealthServer(t, false)

	tests := []struct {
		name    string
		port    int
		service string
		want    Result
		wantOut string
	}{
		{"server as a whole", port, "", Success, "service healthy"},
		{"serving service", port, "ready", Success, "service healthy"},
		{"not serving", port, "sick", Failure, "NOT_SERVING"},
		{"unknown service", port, "nope", Failure, "NotFound"},
		{"no health service", bare, "", Failure, "does not implement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, out, err := GRPC(context.Background(), "127.0.0.1", tt.port, tt.service, 2*time.Second)
			if res != tt.want || err != nil || !strings.Contains(out, tt.wantOut) {
				t.Fatalf("GRPC = (%v, %q, %v), want (%v, ~%q)", res, out, err, tt.want, tt.wantOut)
			}
		})
	}
}

func TestGRPC_R49_SilentServerCostsAtMostTimeout(t *testing.T) {
	// A TCP listener that never speaks HTTP/2.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 64)
	t.Cleanup(func() {
		l.Close()
		for {
			select {
			case c := <-conns:
				c.Close()
			default:
				return
			}
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			select {
			case conns <- c:
			default:
				c.Close()
			}
		}
	}()
	start := time.Now()
	res, out, err := GRPC(context.Background(), "127.0.0.1", l.Addr().(*net.TCPAddr).Port, "", 200*time.Millisecond)
	if res != Failure || err != nil {
		t.Fatalf("GRPC = (%v, %q, %v), want Failure", res, out, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("GRPC took %s, want about the 200ms timeout", d)
	}
}
