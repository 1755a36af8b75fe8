package daemon

import (
	"context"

	"github.com/podd-dev/podd/daemon/events"
	poddv1 "github.com/podd-dev/podd/proto/podd/v1"
)

func eventMessage(e events.Event) *poddv1.Event {
	return &poddv1.Event{
		Namespace: e.Namespace, Pod: e.Pod, Uid: e.UID, Type: e.Type, Reason: e.Reason,
		Object: e.Object, Message: e.Message, Count: e.Count,
		FirstTimestampUnixNano: e.First.UnixNano(), LastTimestampUnixNano: e.Last.UnixNano(),
	}
}

// eventMatches is matches for events: of namespace ns ("" any) and pod
// name ("" any).
func eventMatches(e events.Event, ns, name string) bool {
	return (ns == "" || e.Namespace == ns) && (name == "" || e.Pod == name)
}

// eventsFor returns the events of one pod (by its current UID) or of all pods.
func (a *api) eventsFor(ns, name string) ([]events.Event, error) {
	if name == "" {
		var out []events.Event
		for _, e := range a.d.events.All() {
			if eventMatches(e, ns, "") {
				out = append(out, e)
			}
		}
		return out, nil
	}
	e, ok := a.d.pods.get(namespaceOr(ns), name)
	if !ok {
		return nil, classed(ErrNotFound, "pods %q not found", name)
	}
	return a.d.events.Pod(e.worker.UID()), nil
}

func (a *api) ListEvents(ctx context.Context, req *poddv1.ListEventsRequest) (*poddv1.ListEventsResponse, error) {
	evs, err := a.eventsFor(req.GetNamespace(), req.GetName())
	if err != nil {
		return nil, toGRPC(err)
	}
	resp := &poddv1.ListEventsResponse{}
	for _, e := range evs {
		resp.Events = append(resp.Events, eventMessage(e))
	}
	return resp, nil
}

func (a *api) WatchEvents(req *poddv1.ListEventsRequest, stream poddv1.PodService_WatchEventsServer) error {
	ch, stop := a.d.events.Watch()
	defer stop()
	evs, err := a.eventsFor(req.GetNamespace(), req.GetName())
	if err != nil {
		return toGRPC(err)
	}
	keep := func(e events.Event) bool { return eventMatches(e, req.GetNamespace(), req.GetName()) }
	return serveWatch(stream.Context(), evs, ch, keep, func(e events.Event) error { return stream.Send(eventMessage(e)) })
}
