package verb

import (
	"context"
	"fmt"
	"io"

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
	pods, failed, err := getPods(ctx, c, ns, opts.Names, ns, opts.ErrOut)
	if err != nil {
		return err
	}
	if len(pods) == 0 && len(opts.Names) == 0 {
		fmt.Fprintf(opts.ErrOut, "No resources found in %s namespace.\n", ns)
		return nil
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

func describeOne(ctx context.Context, c poddv1.PodServiceClient, p fetchedPod, opts DescribeOptions) error {
	pod := p.pod
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
		StaticSource: p.msg.GetStaticSource(),
		Events:       events,
		Now:          opts.Now.now(),
	})
}
