// Command grpchealth is the end-to-end tests' gRPC health server (scenario
// 13): it answers grpc.health.v1.Health/Check with SERVING while the file
// named by -file exists and NOT_SERVING otherwise.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	port := flag.Int("port", 9090, "TCP port to listen on")
	file := flag.String("file", "/tmp/serving", "SERVING while this file exists")
	flag.Parse()
	if err := run(*port, *file); err != nil {
		slog.Error("grpchealth", "err", err)
		os.Exit(1)
	}
}

func run(port int, file string) error {
	lis, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
	if err != nil {
		return fmt.Errorf("listen on port %d: %w", port, err)
	}
	srv := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go follow(ctx, hs, file)
	go func() {
		<-ctx.Done()
		srv.Stop()
	}()
	slog.Info("grpchealth serving", "port", port, "file", file)
	return srv.Serve(lis)
}

// follow sets the overall serving status from the file's existence, logging
// each change, until ctx is done.
func follow(ctx context.Context, hs *health.Server, file string) {
	last := healthpb.HealthCheckResponse_UNKNOWN
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		st := healthpb.HealthCheckResponse_NOT_SERVING
		if _, err := os.Stat(file); err == nil {
			st = healthpb.HealthCheckResponse_SERVING
		}
		if st != last {
			hs.SetServingStatus("", st)
			slog.Info("grpchealth status", "status", st.String())
			last = st
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
