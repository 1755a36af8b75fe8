package server

import (
	"errors"
	"testing"
	"time"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// A container's ContainerState follows its state: created carries no pid,
// running its pid and start time, stopped is its exit record as it is.
func TestContainerSnapshotFollowsState(t *testing.T) {
	cfg := &shimv1.ContainerConfig{Id: "app-0", LogPath: "/logs/app/0.log", Labels: map[string]string{"k": "v"}}
	created := time.Unix(100, 0)
	c := newContainer(cfg, created)
	got := c.snapshot()
	if got.Status != shimv1.Status_STATUS_CREATED || got.Pid != 0 || got.CreatedUnixNano != created.UnixNano() ||
		got.LogPath != cfg.LogPath || got.Labels["k"] != "v" {
		t.Fatalf("created: %v", got)
	}
	if _, ok := c.runningPid(); ok {
		t.Fatal("a created container has a running pid")
	}

	started := time.Unix(101, 0)
	if err := c.transition(func(s state) (state, error) { return s.start(42, started) }); err != nil {
		t.Fatal(err)
	}
	got = c.snapshot()
	if got.Status != shimv1.Status_STATUS_RUNNING || got.Pid != 42 || got.StartedUnixNano != started.UnixNano() {
		t.Fatalf("running: %v", got)
	}
	if pid, ok := c.runningPid(); !ok || pid != 42 {
		t.Fatalf("running pid %d %v", pid, ok)
	}

	rec := &shimdir.ExitRecord{ID: "app-0", Pid: 42, ExitCode: 137, Signal: 9, OOMKilled: true, Reason: "OOMKilled",
		CreatedUnixNano: created.UnixNano(), StartedUnixNano: started.UnixNano(), FinishedUnixNano: time.Unix(102, 0).UnixNano()}
	if err := c.transition(func(s state) (state, error) { return s.stop(rec) }); err != nil {
		t.Fatal(err)
	}
	got = c.snapshot()
	if got.Status != shimv1.Status_STATUS_STOPPED || got.ExitCode != 137 || got.Signal != 9 || !got.OomKilled ||
		got.Reason != "OOMKilled" || got.FinishedUnixNano != rec.FinishedUnixNano {
		t.Fatalf("stopped: %v", got)
	}
	if _, ok := c.runningPid(); ok {
		t.Fatal("a stopped container has a running pid")
	}
}

// An illegal move leaves the state as it was and names the container.
func TestContainerTransitionRejectsIllegalMoves(t *testing.T) {
	c := newContainer(&shimv1.ContainerConfig{Id: "app-1"}, time.Now())
	err := c.transition(func(s state) (state, error) { return s.remove() })
	if !errors.Is(err, errIllegalTransition) {
		t.Fatalf("remove a created container: %v", err)
	}
	if want := `container "app-1": illegal container state transition: created → removed`; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if s := c.snapshot().Status; s != shimv1.Status_STATUS_CREATED {
		t.Errorf("state after a refused move: %v", s)
	}
}
