package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"google.golang.org/grpc"

	"github.com/podd-dev/podd/daemon/cri"
	"github.com/podd-dev/podd/internal/version"
	"github.com/podd-dev/podd/network/netns"
	"github.com/podd-dev/podd/runtime/image"
	"github.com/podd-dev/podd/runtime/spec"
)

// criServer is the CRI socket's gRPC server and its streaming server.
type criServer struct {
	grpc    *grpc.Server
	streams *cri.StreamServer
}

// stop stops both servers; graceful waits for the calls in progress
// (streaming sessions end at once either way).
func (s *criServer) stop(graceful bool) {
	if s == nil {
		return
	}
	s.streams.Close()
	if graceful {
		s.grpc.GracefulStop()
	} else {
		s.grpc.Stop()
	}
}

// serveCRI opens the CRI socket (cfg.CRISocket, root-only like the pod
// API's) and the streaming server (cfg.CRIStreamAddress) and serves CRI.
// Nothing happens when the socket is disabled (""); the returned server is
// then nil.
func (d *Daemon) serveCRI(errc chan<- error) (*criServer, error) {
	if d.cfg.CRISocket == "" {
		return nil, nil
	}
	addr := d.cfg.CRIStreamAddress
	if addr == "" {
		addr = DefaultCRIStreamAddress
	}
	if err := CheckCRIStreamAddress(addr); err != nil {
		return nil, err
	}
	sandboxes, containers := criSandboxes{r: d.criSandboxes, c: d.criContainers, warm: d.warmMigrations}, criContainers{c: d.criContainers}
	streams, err := cri.ListenStreams(cri.StreamConfig{Addr: addr, Containers: containers, Sandboxes: sandboxes, Dial: netns.Dial})
	if err != nil {
		return nil, err
	}
	lis, err := listen(d.cfg.CRISocket)
	if err != nil {
		streams.Close()
		return nil, fmt.Errorf("cri socket: %w", err)
	}
	srv := cri.NewServer(cri.Config{
		Images:     criImages{d: d},
		Runtime:    &d.criState,
		Sandboxes:  sandboxes,
		Containers: containers,
		Streams:    streams,
		Usage:      criUsage{cgroups: d.cgroups, layout: d.deps.Layout},
		Events:     criEvents{ev: d.criSandboxes.Events()},
		Features:   cri.Features{RecursiveReadOnlyMounts: spec.RecursiveReadOnlyMounts(), UserNamespaces: d.userNamespaces()},
		ImageFsDir: d.deps.Layout.ImagesDir(),
		StateDir:   d.deps.Layout.CRIDir(),
		Version:    version.Version,
	})
	go func() {
		if err := srv.Serve(lis); err != nil {
			errc <- fmt.Errorf("serve %s: %w", d.cfg.CRISocket, err)
		}
	}()
	go func() {
		if err := streams.Serve(); err != nil {
			errc <- fmt.Errorf("serve CRI streams on %s: %w", streams.Addr(), err)
		}
	}()
	slog.Info("CRI serving", "socket", d.cfg.CRISocket, "streams", streams.Addr())
	return &criServer{grpc: srv, streams: streams}, nil
}

// criImages is the image store as the CRI edge uses it: the same store and
// the same in-use rule as the pod API's.
type criImages struct{ d *Daemon }

func (c criImages) List(ctx context.Context) ([]image.Image, error) { return c.d.images.List(ctx) }

func (c criImages) Get(ctx context.Context, ref string) (image.Image, error) {
	return c.d.images.Get(ctx, ref)
}

func (c criImages) Pull(ctx context.Context, ref string, auth *image.Credentials) (image.Image, error) {
	return c.d.images.Pull(ctx, ref, image.PullOptions{Auth: auth})
}

func (c criImages) Remove(ctx context.Context, ref string) error {
	return c.d.removeWholeImage(ctx, ref)
}

func (c criImages) RawConfig(ctx context.Context, digest string) ([]byte, error) {
	return c.d.images.RawConfig(ctx, digest)
}

func (c criImages) Usage(ctx context.Context) (image.Usage, error) { return c.d.images.Usage(ctx) }

// criState is what the CRI runtime-wide calls read and record.
type criState struct {
	d       *Daemon
	mu      sync.Mutex
	podCIDR string
}

func (s *criState) NetworkReady(context.Context) error { return s.d.network.Ready() }

func (s *criState) SetPodCIDR(cidr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.podCIDR = cidr
}

func (s *criState) PodCIDR() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.podCIDR
}

// removeWholeImage removes the image ref names with all its names, and every
// other stored manifest of the same image ID (one image to CRI), unless a
// pod uses one of them: then nothing is removed and the error says which
// pod, as removeImage does.
func (d *Daemon) removeWholeImage(ctx context.Context, ref string) error {
	img, err := d.images.Get(ctx, ref)
	if err != nil {
		return err
	}
	all, err := d.images.List(ctx)
	if err != nil {
		return err
	}
	if d.criContainers != nil && d.criContainers.Images()[img.ID] {
		return classed(ErrFailedPrecondition, "image %q is in use by a CRI container: remove the container first", ref)
	}
	pods, resolve := d.podSpecs(), d.resolveImage(ctx)
	var digests []string
	for _, i := range all {
		if i.ID != img.ID {
			continue
		}
		if users := imageUsers(pods, resolve, i.Digest); len(users) > 0 {
			return classed(ErrFailedPrecondition, "image %q is in use by pod %s: delete the pod first", ref, strings.Join(users, ", pod "))
		}
		digests = append(digests, i.Digest)
	}
	for _, dg := range digests {
		if _, err := d.images.Remove(ctx, dg); err != nil && !errors.Is(err, image.ErrNotFound) {
			return err
		}
	}
	slog.Info("image removed", "ref", ref, "id", img.ID, "manifests", len(digests))
	_, err = d.pruneLayers(ctx)
	return err
}
