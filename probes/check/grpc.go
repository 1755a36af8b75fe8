package check

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/podd-dev/podd/internal/version"
)

// GRPC calls the standard grpc.health.v1.Health/Check on host:port for
// service (empty means the server as a whole), in plaintext. SERVING is
// Success; any other status, an error or passing timeout is Failure with the
// reason as output. A timeout of zero or less means no limit beyond ctx.
func GRPC(ctx context.Context, host string, port int, service string, timeout time.Duration) (Result, string, error) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	conn, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUserAgent("kube-probe/"+version.Version),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
			return dialer().DialContext(ctx, "tcp", a)
		}),
	)
	if err != nil {
		return Unknown, "", fmt.Errorf("grpc check %s: %w", addr, err)
	}
	defer conn.Close()

	callCtx, cancel := withOptionalTimeout(ctx, timeout)
	defer cancel()
	resp, err := healthpb.NewHealthClient(conn).Check(callCtx, &healthpb.HealthCheckRequest{Service: service})
	if err != nil {
		if ctx.Err() != nil {
			return Unknown, "", fmt.Errorf("grpc check %s: %w", addr, ctx.Err())
		}
		return Failure, grpcFailure(err, addr, timeout), nil
	}
	if s := resp.GetStatus(); s != healthpb.HealthCheckResponse_SERVING {
		return Failure, fmt.Sprintf("service unhealthy (responded with %q)", s.String()), nil
	}
	return Success, "service healthy", nil
}

func grpcFailure(err error, addr string, timeout time.Duration) string {
	switch status.Code(err) {
	case codes.Unimplemented:
		return "error: this server does not implement the grpc health protocol (grpc.health.v1.Health): " + status.Convert(err).Message()
	case codes.DeadlineExceeded:
		return fmt.Sprintf("timeout: health rpc to %s did not complete within %s", addr, timeout)
	default:
		return fmt.Sprintf("error: health rpc probe failed: %v", err)
	}
}
