package verb

import (
	"context"
	"fmt"
	"io"

	"github.com/podd-dev/podd/cmd/podctl/internal/podclient"
	"github.com/podd-dev/podd/cmd/podctl/internal/printers"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// DescribeOptions are the inputs of `podctl describe pod`.
type DescribeOptions struct {
	Streams
	Namespace string
	// Names are the pods to describe; none means every pod of Namespace.
	Names []string
	Now   Clock
}

// Describe prints kubectl-style `describe pod` output, events included,
// for each pod; descriptions are separated by a blank line.
func Describe(ctx context.Context, c poddv1.PodServiceClient, opts DescribeOptions) error {
	ns := namespaceOrDefault(opts.Namespace)
	var pods []*poddv1.Pod
	failed := false
	if len(opts.Names) == 0 {
		all, err := listPods(ctx, c, ns)
		if err != nil {
			return err
		}
		pods = all
		if len(pods) == 0 {
			fmt.Fprintf(opts.ErrOut, "No resources found in %s namespace.\n", ns)
			return nil
		}
	}
	for _, name := range opts.Names {
		p, err := c.GetPod(ctx, &poddv1.GetPodRequest{Namespace: ns, Name: name})
		if err != nil {
			if len(opts.Names) == 1 || ctx.Err() != nil {
				return err
			}
			failed = true
			fmt.Fprintln(opts.ErrOut, podclient.FormatError(err))
			continue
		}
		pods = append(pods, p)
	}
	for i, p := range pods {
		if i > 0 {
			if _, err := io.WriteString(opts.Out, "\n\n"); err != nil {
				return err
			}
		}
		if err := describeOne(ctx, c, p, opts); err != nil {
			return err
		}
	}
	if failed {
		return errReported
	}
	return nil
}

func describeOne(ctx context.Context, c poddv1.PodServiceClient, p *poddv1.Pod, opts DescribeOptions) error {
	pod, err := DecodePod(p)
	if err != nil {
		return err
	}
	resp, err := c.ListEvents(ctx, &poddv1.ListEventsRequest{Namespace: pod.Namespace, Name: pod.Name})
	if err != nil {
		return err
	}
	// Events of an earlier pod of the same name (another UID) are not this
	// pod's.
	var events []*poddv1.Event
	for _, e := range resp.GetEvents() {
		if e.GetUid() == "" || pod.UID == "" || e.GetUid() == string(pod.UID) {
			events = append(events, e)
		}
	}
	return printers.DescribePod(opts.Out, printers.PodDescription{
		Pod:          pod,
		StaticSource: p.GetStaticSource(),
		Events:       events,
		Now:          opts.Now.now(),
	})
}
