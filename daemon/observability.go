package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/podd-dev/podd/daemon/metrics"
	"github.com/podd-dev/podd/daemon/podworker"
	"github.com/podd-dev/podd/runtime/image"
)

// CheckMetricsAddress accepts host:port with a loopback host (a name that
// resolves only to loopback addresses, such as localhost, included); any
// other host, or none (all interfaces), only with allowRemote: the metrics
// name pods and tell their activity, and have no authentication.
func CheckMetricsAddress(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("metrics address %q: %w", addr, err)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("metrics address %q is not a loopback address; set metrics-allow-remote to serve metrics beyond this host", addr)
}

// serveMetrics serves /metrics (and with cfg.Profiling /debug/pprof/) on
// cfg.MetricsAddress; it returns once the
// listener is bound, with the address bound and a func that stops serving
// and waits until it has stopped.
func (d *Daemon) serveMetrics() (addr string, stop func(), err error) {
	if err := CheckMetricsAddress(d.cfg.MetricsAddress, d.cfg.MetricsAllowRemote); err != nil {
		return "", nil, err
	}
	lis, err := net.Listen("tcp", d.cfg.MetricsAddress)
	if err != nil {
		return "", nil, fmt.Errorf("metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", d.metrics.Handler())
	if d.cfg.Profiling {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("Metrics listener stopped", "address", lis.Addr().String(), "err", err)
		}
	}()
	slog.Info("Serving metrics", "address", lis.Addr().String())
	return lis.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		<-done
	}, nil
}

// census counts what the gauges show, at each scrape.
func (d *Daemon) census() metrics.Counts {
	var c metrics.Counts
	for _, e := range d.pods.list() {
		pc := e.worker.Census()
		if pc.SandboxRunning {
			c.RunningPods++
		}
		if pc.Shim {
			c.Shims++
		}
		c.RunningContainers += pc.RunningContainers
	}
	return c
}

// measuredImages records the pulls the pod workers make.
type measuredImages struct {
	podworker.Images
	m *metrics.Metrics
}

func (i measuredImages) Pull(ctx context.Context, ref string, opts image.PullOptions) (image.Image, error) {
	start := time.Now()
	img, err := i.Images.Pull(ctx, ref, opts)
	i.m.ImagePulled(img.Size, time.Since(start), err)
	return img, err
}
