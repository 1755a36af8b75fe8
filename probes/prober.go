package probes

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/probes/check"
)

// prober runs one check of a probe's handler. Each handler kind is its own
// small type, built once when the probe is added.
type prober interface {
	probe(ctx context.Context, timeout time.Duration) (res Result, output, warning string, err error)
}

// newProber builds the prober for p's handler, resolving host and port from t.
func newProber(p *corev1.Probe, t Target) (prober, error) {
	host := check.HostFor(t.PodIP, t.HostNetwork)
	h := p.ProbeHandler
	switch {
	case h.Exec != nil:
		if t.Execer == nil {
			return nil, errors.New("exec probe: no execer for the container")
		}
		if len(h.Exec.Command) == 0 {
			return nil, errors.New("exec probe: empty command")
		}
		return execProber{execer: t.Execer, container: t.ContainerID, cmd: h.Exec.Command}, nil
	case h.HTTPGet != nil:
		req, err := check.HTTPGetRequestFor(h.HTTPGet, host, t.ContainerPorts, 0)
		if err != nil {
			return nil, err
		}
		return httpProber{check: check.PrepareHTTPGet(req)}, nil
	case h.TCPSocket != nil:
		port, err := check.ResolvePort(h.TCPSocket.Port, t.ContainerPorts)
		if err != nil {
			return nil, fmt.Errorf("tcpSocket probe: %w", err)
		}
		if h.TCPSocket.Host != "" {
			host = h.TCPSocket.Host
		}
		if host == "" {
			return nil, errors.New("tcpSocket probe: no host and no pod IP")
		}
		return tcpProber{host: host, port: port}, nil
	case h.GRPC != nil:
		if host == "" {
			return nil, errors.New("grpc probe: no pod IP")
		}
		if h.GRPC.Port < 1 || h.GRPC.Port > 65535 {
			return nil, fmt.Errorf("grpc probe: port %d is out of range 1-65535", h.GRPC.Port)
		}
		var service string
		if h.GRPC.Service != nil {
			service = *h.GRPC.Service
		}
		return grpcProber{host: host, port: int(h.GRPC.Port), service: service}, nil
	default:
		return nil, errors.New("probe has no handler")
	}
}

type execProber struct {
	execer    Execer
	container string
	cmd       []string
}

func (p execProber) probe(ctx context.Context, timeout time.Duration) (Result, string, string, error) {
	res, out, err := check.Exec(ctx, p.execer, p.container, p.cmd, timeout)
	return res, out, "", err
}

// httpProber's check is prepared once: the probe runs it every period.
type httpProber struct{ check *check.HTTPGetCheck }

func (p httpProber) probe(ctx context.Context, timeout time.Duration) (Result, string, string, error) {
	return p.check.Run(ctx, timeout)
}

type tcpProber struct {
	host string
	port int
}

func (p tcpProber) probe(ctx context.Context, timeout time.Duration) (Result, string, string, error) {
	res, out, err := check.TCPSocket(ctx, p.host, p.port, timeout)
	return res, out, "", err
}

type grpcProber struct {
	host    string
	port    int
	service string
}

func (p grpcProber) probe(ctx context.Context, timeout time.Duration) (Result, string, string, error) {
	res, out, err := check.GRPC(ctx, p.host, p.port, p.service, timeout)
	return res, out, "", err
}
