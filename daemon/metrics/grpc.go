package metrics

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// UnaryInterceptor records the latency of each unary API call.
func (m *Metrics) UnaryInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		m.request(info.FullMethod, err, time.Since(start))
		return resp, err
	}
}

// StreamInterceptor records how long each streaming API call lasted.
func (m *Metrics) StreamInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		err := handler(srv, ss)
		m.request(info.FullMethod, err, time.Since(start))
		return err
	}
}

func (m *Metrics) request(method string, err error, took time.Duration) {
	if m == nil {
		return
	}
	m.requestLatency.WithLabelValues(method, status.Code(err).String()).Observe(took.Seconds())
}
