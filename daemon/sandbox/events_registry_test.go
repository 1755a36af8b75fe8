package sandbox_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/podd-dev/podd/daemon/podworker/podworkertest"
	"github.com/podd-dev/podd/daemon/sandbox"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// next takes the subscription's next event within a deadline.
func next(t *testing.T, s *sandbox.Subscription) sandbox.Event {
	t.Helper()
	select {
	case e := <-s.C:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
		return sandbox.Event{}
	}
}

// The registries publish each change as CRI names it: a sandbox's own
// (with its ID as the container's) when it runs, stops and is removed, and
// each container's when it is created, started, seen stopped (once, also
// when it ended on its own) and removed.
func TestRegistriesPublishChanges(t *testing.T) {
	h, layout := podworkertest.NewHost(), testLayout(t)
	r := newRegistry(t, h, layout)
	c := openContainers(t, h, r, layout)
	ctx := context.Background()
	sub := r.Events().Subscribe(0)
	defer sub.Close()
	sb, err := r.Run(ctx, spec("web"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Create(ctx, containerSpec(sb.ID, "a"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Create(ctx, containerSpec(sb.ID, "b"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a, b} {
		if err := c.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	// a ends on its own; asking twice publishes its end once.
	h.ExitContainers(layout.CRIShimDir(sb.ID), func(st *shimv1.ContainerState) bool { return st.GetId() == a }, 3)
	state(t, c, a)
	state(t, c, a)
	if err := c.Stop(ctx, b, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.Remove(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveSandbox(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.Remove(ctx, sb.ID); err != nil {
		t.Fatal(err)
	}
	name := map[string]string{sb.ID: "sandbox", a: "a", b: "b"}
	want := []string{
		"sandbox CREATED", "sandbox STARTED", "a CREATED", "b CREATED", "a STARTED", "b STARTED",
		"a STOPPED", "b STOPPED", "a DELETED", "b DELETED", "sandbox STOPPED", "sandbox DELETED",
	}
	var got []string
	for range want {
		e := next(t, sub)
		if e.SandboxID != sb.ID || e.At.IsZero() {
			t.Errorf("event %+v: sandbox or time wrong", e)
		}
		got = append(got, fmt.Sprintf("%s %s", name[e.ContainerID], e.Type))
	}
	if !slices.Equal(got, want) {
		t.Errorf("events\n%v\nwant\n%v", got, want)
	}
	select {
	case e := <-sub.C:
		t.Errorf("one more event: %+v", e)
	default:
	}
}
