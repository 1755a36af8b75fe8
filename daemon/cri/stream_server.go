package cri

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"k8s.io/cri-streaming/pkg/streaming"
)

// StreamConfig configures the streaming server that the URLs of Exec,
// Attach and PortForward point at (containerd's stream server).
type StreamConfig struct {
	// Addr is the host:port to listen on; port 0 takes a free one.
	Addr string
	// Containers runs execs and attaches; nil: Exec and Attach answer
	// Unimplemented.
	Containers StreamContainers
	// Sandboxes gives PortForward the sandbox's network namespace.
	Sandboxes Sandboxes
	// Dial connects to network address inside the network namespace pinned
	// at netnsPath ("" is the host's): netns.Dial.
	Dial func(ctx context.Context, netnsPath, network, address string) (net.Conn, error)
}

// StreamServer serves exec, attach and port-forward sessions over HTTP
// (SPDY or WebSocket), each at a one-time URL that Exec, Attach or
// PortForward handed out.
type StreamServer struct {
	srv        streaming.Server
	http       *http.Server
	lis        net.Listener
	containers StreamContainers
	cancel     context.CancelFunc
}

// ListenStreams opens the streaming server's listener; Serve serves on it.
func ListenStreams(cfg StreamConfig) (*StreamServer, error) {
	if cfg.Sandboxes == nil || cfg.Dial == nil {
		return nil, errors.New("stream server: sandboxes and dial are required")
	}
	lis, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("stream server: %w", err)
	}
	scfg := streaming.DefaultConfig
	scfg.Addr = lis.Addr().String() // the URLs name the port taken
	srv, err := streaming.NewServer(scfg, &streamRuntime{containers: cfg.Containers, sandboxes: cfg.Sandboxes, dial: cfg.Dial})
	if err != nil {
		lis.Close()
		return nil, fmt.Errorf("stream server: %w", err)
	}
	// Sessions are hijacked connections that outlive http.Server.Close:
	// their contexts end with this one, which Close cancels.
	base, cancel := context.WithCancel(context.Background())
	return &StreamServer{
		srv: srv, lis: lis, containers: cfg.Containers, cancel: cancel,
		http: &http.Server{Handler: srv, BaseContext: func(net.Listener) context.Context { return base }},
	}, nil
}

// Addr is the address the server listens on.
func (s *StreamServer) Addr() string { return s.lis.Addr().String() }

// Serve serves until Close.
func (s *StreamServer) Serve() error {
	if err := s.http.Serve(s.lis); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops listening and ends every session.
func (s *StreamServer) Close() error {
	s.cancel()
	return s.http.Close()
}
