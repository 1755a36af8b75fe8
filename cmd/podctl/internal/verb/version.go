package verb

import (
	"context"
	"fmt"

	"github.com/podd-dev/podd/internal/version"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// Connector opens a client to the daemon.
type Connector func(ctx context.Context) (poddv1.PodServiceClient, error)

// VersionOptions are the inputs of `podctl version`.
type VersionOptions struct {
	Streams
	// ClientOnly skips asking the daemon.
	ClientOnly bool
}

// Version prints the client version, then the daemon's (asking it through
// connect); the client line is printed even when the daemon is down.
func Version(ctx context.Context, connect Connector, opts VersionOptions) error {
	fmt.Fprintf(opts.Out, "Client Version: %s\n", version.Version)
	if opts.ClientOnly {
		return nil
	}
	c, err := connect(ctx)
	if err != nil {
		return err
	}
	v, err := c.Version(ctx, &poddv1.VersionRequest{})
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "Server Version: %s\n", v.GetVersion())
	fmt.Fprintf(opts.Out, "Server API Version: %s\n", v.GetApiVersion())
	fmt.Fprintf(opts.Out, "Server Go Version: %s\n", v.GetGoVersion())
	return nil
}
