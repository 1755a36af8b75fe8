package cri

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/internal/errdefs"
	"github.com/podd-dev/podd/runtime/image"
)

// Images is podd's one image store, as the CRI calls use it: images pulled
// or removed here are the ones podd's pod API lists, and the reverse.
type Images interface {
	// List returns every stored image.
	List(ctx context.Context) ([]image.Image, error)
	// Get resolves a name, a repo digest or an image ID (or a unique
	// prefix); a missing image is an error wrapping image.ErrNotFound.
	Get(ctx context.Context, ref string) (image.Image, error)
	// Pull fetches ref (through the configured mirrors) with auth, if any.
	Pull(ctx context.Context, ref string, auth *image.Credentials) (image.Image, error)
	// Remove removes the image ref names, with every name it has; an image
	// a pod uses is refused (errdefs.ErrFailedPrecondition).
	Remove(ctx context.Context, ref string) error
	// RawConfig is the OCI config JSON of the image with manifest digest d.
	RawConfig(ctx context.Context, digest string) ([]byte, error)
	// Usage is the disk space the store takes.
	Usage(ctx context.Context) (image.Usage, error)
}

// Runtime is what the runtime-wide calls (Status, UpdateRuntimeConfig) read
// and record in the daemon.
type Runtime interface {
	// NetworkReady returns why a new sandbox could not get its network
	// now (no CNI configuration, a plugin missing), nil when it could.
	NetworkReady(ctx context.Context) error
	// SetPodCIDR records the pod CIDR(s) the kubelet assigned to the node.
	SetPodCIDR(cidr string)
	// PodCIDR is the last pod CIDR recorded ("" before any).
	PodCIDR() string
}

// Config is what the CRI server serves from.
type Config struct {
	Images     Images
	Runtime    Runtime
	Sandboxes  Sandboxes
	Containers Containers
	// Usage reads the containers' and sandboxes' use of the host.
	Usage Usage
	// Events delivers the containers' and sandboxes' changes.
	Events Events
	// Streams serves the sessions Exec, Attach and PortForward hand out
	// URLs to; nil: those calls answer Unimplemented.
	Streams *StreamServer
	// Features are the optional features this host supports.
	Features Features
	// ImageFsDir is where the images are stored (ImageFsInfo's mountpoint).
	ImageFsDir string
	// StateDir is where the CRI objects are stored; Status reports it in
	// its verbose config as containerd does (critest probes idmapped
	// mounts in its parent).
	StateDir string
	// Version is podd's version, reported as the runtime version.
	Version string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Features are the optional CRI features that depend on the host.
type Features struct {
	// RecursiveReadOnlyMounts: the kernel makes mounts recursively
	// read-only (spec.RecursiveReadOnlyMounts).
	RecursiveReadOnlyMounts bool
	// UserNamespaces: a sandbox can have its own user namespace (the
	// kernel mounts a rootfs over idmapped layers, rootfs.ProbeIDMapped).
	UserNamespaces bool
}

// NewServer returns a gRPC server with both CRI services registered. Calls
// that podd does not implement yet answer codes.Unimplemented, saying so.
func NewServer(cfg Config) *grpc.Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(unaryNotYet), grpc.StreamInterceptor(streamNotYet))
	runtimeapi.RegisterRuntimeServiceServer(srv, &runtimeService{cfg: cfg})
	runtimeapi.RegisterImageServiceServer(srv, &imageService{cfg: cfg})
	return srv
}

// runtimeService serves RuntimeService: the runtime-wide calls and the
// pod sandbox calls so far; containers are not implemented yet (issue 9).
type runtimeService struct {
	runtimeapi.UnimplementedRuntimeServiceServer
	cfg Config
	// cpu keeps the previous CPU samples for usage_nano_cores.
	cpu cpuSamples
}

// imageService serves ImageService.
type imageService struct {
	runtimeapi.UnimplementedImageServiceServer
	cfg Config
}

// toStatus turns a service error into a gRPC status error: errdefs
// classes, and the image store's not-found.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, image.ErrNotFound) && !errors.Is(err, errdefs.ErrNotFound) {
		err = errdefs.Classed(errdefs.ErrNotFound, "%w", err)
	}
	return errdefs.ToGRPC(err)
}

// invalid is an InvalidArgument status error.
func invalid(format string, args ...any) error {
	return status.Error(codes.InvalidArgument, fmt.Sprintf(format, args...))
}

// notYetMessage is the message of a call podd does not implement yet.
func notYetMessage(fullMethod string) string {
	return fmt.Sprintf("%s: not yet implemented in podd", fullMethod[strings.LastIndex(fullMethod, "/")+1:])
}

// notYet rewrites the generated "method X not implemented" answer of the
// embedded Unimplemented servers, leaving every other error alone.
func notYet(fullMethod string, err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unimplemented {
		return err
	}
	name := fullMethod[strings.LastIndex(fullMethod, "/")+1:]
	if st.Message() != "method "+name+" not implemented" {
		return err
	}
	return status.Error(codes.Unimplemented, notYetMessage(fullMethod))
}

func unaryNotYet(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	resp, err := handler(ctx, req)
	return resp, notYet(info.FullMethod, err)
}

func streamNotYet(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return notYet(info.FullMethod, handler(srv, ss))
}
