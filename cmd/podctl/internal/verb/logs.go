package verb

import (
	"context"
	"fmt"

	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// LogsOptions are the inputs of `podctl logs`.
type LogsOptions struct {
	Streams
	Namespace string
	Pod       string
	// Container defaults as in kubectl (annotation, else the first).
	Container string
	Follow    bool
	// Previous shows the previous instance's log (after a restart).
	Previous bool
	// Tail is how many last lines to show; negative means all.
	Tail       int64
	Timestamps bool
}

// Logs streams a container's log to Out until it ends (or, with Follow,
// until ctx is cancelled).
func Logs(ctx context.Context, c poddv1.PodServiceClient, opts LogsOptions) error {
	ns := namespaceOrDefault(opts.Namespace)
	_, container, err := getPodContainer(ctx, c, ns, opts.Pod, opts.Container, opts.ErrOut)
	if err != nil {
		return err
	}
	stream, err := c.Logs(ctx, &poddv1.LogsRequest{
		Namespace:  ns,
		Name:       opts.Pod,
		Container:  container,
		Follow:     opts.Follow,
		Previous:   opts.Previous,
		TailLines:  opts.Tail,
		Timestamps: opts.Timestamps,
	})
	if err != nil {
		return err
	}
	for {
		chunk, err := stream.Recv()
		if err != nil {
			return streamEnd(ctx, err)
		}
		if _, err := opts.Out.Write(chunk.GetData()); err != nil {
			return fmt.Errorf("write log: %w", err)
		}
	}
}
