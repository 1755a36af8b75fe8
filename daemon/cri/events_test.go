package cri

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// fakeEvents hands out subscriptions fed by publish; drop drops them all.
type fakeEvents struct {
	mu   sync.Mutex
	subs []*fakeSub
}

type fakeSub struct {
	c       chan Event
	dropped chan struct{}
	closed  chan struct{}
}

func (f *fakeEvents) Subscribe() Subscription {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &fakeSub{c: make(chan Event, 16), dropped: make(chan struct{}), closed: make(chan struct{})}
	f.subs = append(f.subs, s)
	return s
}

func (f *fakeEvents) subscribers() []*fakeSub {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*fakeSub(nil), f.subs...)
}

func (s *fakeSub) Next(ctx context.Context) (Event, error) {
	select {
	case e := <-s.c:
		return e, nil
	case <-s.dropped:
		return Event{}, ErrEventsDropped
	case <-ctx.Done():
		return Event{}, ctx.Err()
	}
}

func (s *fakeSub) Close() { close(s.closed) }

// waitSubscribed waits until n clients subscribed.
func (f *fakeEvents) waitSubscribed(t *testing.T, n int) []*fakeSub {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(f.subscribers()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers, want %d", len(f.subscribers()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return f.subscribers()
}

// Each change reaches the client with its type and time, its sandbox's
// status and the statuses of the sandbox's containers (none of another
// sandbox's); a removed sandbox's has no sandbox status. A dropped client
// gets ResourceExhausted and its subscription is closed.
func TestGetContainerEvents(t *testing.T) {
	cfg, _, _ := containerTestConfig()
	ev := &fakeEvents{}
	cfg.Events = ev
	rc, _ := clients(t, cfg)
	ctx := context.Background()
	web, err := rc.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("web", nil)})
	if err != nil {
		t.Fatal(err)
	}
	db, err := rc.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: sandboxConfig("db", nil)})
	if err != nil {
		t.Fatal(err)
	}
	var app string
	for _, c := range []struct{ sb, name string }{{web.PodSandboxId, "app"}, {web.PodSandboxId, "side"}, {db.PodSandboxId, "sql"}} {
		r, err := rc.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: c.sb, Config: containerConfig(c.name, nil)})
		if err != nil {
			t.Fatal(err)
		}
		if c.name == "app" {
			app = r.ContainerId
		}
	}
	if _, err := rc.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: app}); err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := rc.GetContainerEvents(sctx, &runtimeapi.GetEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	sub := ev.waitSubscribed(t, 1)[0]
	at := time.Unix(500, 7)
	sub.c <- Event{ContainerID: app, SandboxID: web.PodSandboxId, Type: runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT, At: at}
	r, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if r.ContainerId != app || r.ContainerEventType != runtimeapi.ContainerEventType_CONTAINER_STARTED_EVENT || r.CreatedAt != at.UnixNano() {
		t.Errorf("event %v", r)
	}
	if r.PodSandboxStatus.GetId() != web.PodSandboxId || r.PodSandboxStatus.GetState() != runtimeapi.PodSandboxState_SANDBOX_READY {
		t.Errorf("sandbox status %v", r.PodSandboxStatus)
	}
	states := map[string]runtimeapi.ContainerState{}
	for _, st := range r.ContainersStatuses {
		states[st.Metadata.Name] = st.State
	}
	if len(states) != 2 || states["app"] != runtimeapi.ContainerState_CONTAINER_RUNNING || states["side"] != runtimeapi.ContainerState_CONTAINER_CREATED {
		t.Errorf("container statuses %v, want app running and side created", states)
	}
	if _, err := rc.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: db.PodSandboxId}); err != nil {
		t.Fatal(err)
	}
	sub.c <- Event{ContainerID: db.PodSandboxId, SandboxID: db.PodSandboxId, Type: runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT, At: at}
	if r, err = stream.Recv(); err != nil {
		t.Fatal(err)
	}
	if r.ContainerEventType != runtimeapi.ContainerEventType_CONTAINER_DELETED_EVENT || r.PodSandboxStatus != nil {
		t.Errorf("removed sandbox's event %v, want no sandbox status", r)
	}
	close(sub.dropped)
	if _, err := stream.Recv(); code(err) != codes.ResourceExhausted {
		t.Errorf("dropped client: %v, want ResourceExhausted", err)
	}
	select {
	case <-sub.closed:
	case <-time.After(10 * time.Second):
		t.Error("the dropped client's subscription was not closed")
	}
	// A client that goes away closes its subscription.
	stream2, err := rc.GetContainerEvents(sctx, &runtimeapi.GetEventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	_ = stream2
	sub2 := ev.waitSubscribed(t, 2)[1]
	cancel()
	select {
	case <-sub2.closed:
	case <-time.After(10 * time.Second):
		t.Error("a gone client's subscription was not closed")
	}
}
