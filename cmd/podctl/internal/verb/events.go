package verb

import (
	"context"
	"fmt"

	"github.com/podd-dev/podd/cmd/podctl/internal/printers"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

// EventsOptions are the inputs of `podctl events`.
type EventsOptions struct {
	Streams
	Namespace     string
	AllNamespaces bool
	// Pod limits the events to one pod; empty means every pod.
	Pod string
	// Watch keeps printing new events after the listing (-w).
	Watch bool
	Now   Clock
}

// Events prints events as `kubectl events` does: LAST SEEN, TYPE, REASON,
// OBJECT, MESSAGE, oldest first.
func Events(ctx context.Context, c poddv1.PodServiceClient, opts EventsOptions) error {
	if opts.AllNamespaces && opts.Pod != "" {
		return fmt.Errorf("a pod cannot be named across all namespaces")
	}
	req := &poddv1.ListEventsRequest{Namespace: namespaceOrDefault(opts.Namespace), Name: opts.Pod}
	if opts.AllNamespaces {
		req.Namespace = ""
	}
	resp, err := c.ListEvents(ctx, req)
	if err != nil {
		return err
	}
	events := resp.GetEvents()
	printers.SortEvents(events)
	p := &eventPrinter{opts: opts, table: printers.NewTable(opts.Out)}
	if len(events) == 0 {
		if opts.AllNamespaces {
			fmt.Fprintln(opts.ErrOut, "No events found.")
		} else {
			fmt.Fprintf(opts.ErrOut, "No events found in %s namespace.\n", req.Namespace)
		}
	} else if err := p.print(events); err != nil {
		return err
	}
	if !opts.Watch {
		return nil
	}
	return watchEvents(ctx, c, req, p, events)
}

// eventPrinter prints event rows, the header once.
type eventPrinter struct {
	opts          EventsOptions
	table         *printers.Table
	headerPrinted bool
}

func (p *eventPrinter) print(events []*poddv1.Event) error {
	var rows [][]string
	if !p.headerPrinted {
		rows = append(rows, printers.EventHeader(p.opts.AllNamespaces))
		p.headerPrinted = true
	}
	now := p.opts.Now.now()
	for _, e := range events {
		rows = append(rows, printers.EventRow(e, now, p.opts.AllNamespaces))
	}
	return p.table.Write(rows...)
}

// watchEvents prints each new event until the stream or ctx ends; the
// replayed events already listed are skipped.
func watchEvents(ctx context.Context, c poddv1.PodServiceClient, req *poddv1.ListEventsRequest, p *eventPrinter, listed []*poddv1.Event) error {
	stream, err := c.WatchEvents(ctx, req)
	if err != nil {
		return err
	}
	seen := make(map[string]bool, len(listed))
	for _, e := range listed {
		seen[eventKey(e)] = true
	}
	for {
		e, err := stream.Recv()
		if err != nil {
			return streamEnd(ctx, err)
		}
		if seen[eventKey(e)] {
			continue
		}
		if err := p.print([]*poddv1.Event{e}); err != nil {
			return err
		}
	}
}

func eventKey(e *poddv1.Event) string {
	return fmt.Sprintf("%s|%s|%s|%s|%s|%d|%d", e.GetUid(), e.GetReason(), e.GetObject(), e.GetMessage(),
		e.GetType(), e.GetCount(), e.GetLastTimestampUnixNano())
}
