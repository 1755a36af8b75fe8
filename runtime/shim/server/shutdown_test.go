package server

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// A shutdown with nothing running tears down at once what the shim owns
// (libcontainer state, pid file), keeps the exit records for the daemon,
// ends every event subscription and lets the shim exit.
func TestShutdownTearsDownWhenIdle(t *testing.T) {
	s := testService(t)
	if err := os.MkdirAll(shimdir.RuncDir(s.stateDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shimdir.PidFile(s.stateDir), []byte("1"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := &shimdir.ExitRecord{ID: "app-0"}
	s.add(t, "app-0", stoppedState{rec: rec})
	close(s.lookup("app-0").stopped)
	if err := s.writeRecord(rec); err != nil {
		t.Fatal(err)
	}
	events, _ := s.events.subscribe()
	if _, err := s.Shutdown(context.Background(), &shimv1.ShutdownRequest{}); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, "the teardown", s.finished())
	if _, err := os.Stat(shimdir.RuncDir(s.stateDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("libcontainer state after teardown: %v", err)
	}
	if _, err := os.Stat(shimdir.PidFile(s.stateDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file after teardown: %v", err)
	}
	if _, err := os.Stat(shimdir.ExitRecordPath(s.stateDir, "app-0")); err != nil {
		t.Errorf("exit record gone with the teardown: %v", err)
	}
	select {
	case _, ok := <-events:
		if ok {
			t.Error("an event was published at teardown")
		}
	case <-time.After(10 * time.Second):
		t.Error("an event subscription outlived the teardown")
	}
	// Again, now forced: no second teardown (it would close done twice).
	s.beginShutdown(true)
	if !s.forced {
		t.Error("a later forced shutdown did not record force")
	}
}

// The teardown waits for every container to stop: one whose start is still
// under way (created) holds it until its end is recorded, and meanwhile no
// new container is accepted.
func TestShutdownWaitsForContainersToStop(t *testing.T) {
	s := testService(t)
	c := s.add(t, "app-0", createdState{})
	s.beginShutdown(true) // force: a created container has nothing to kill yet
	_, err := s.CreateContainer(context.Background(), &shimv1.CreateContainerRequest{Config: &shimv1.ContainerConfig{Id: "app-1"}})
	wantCode(t, "create during shutdown", err, codes.FailedPrecondition, "shutting down")
	select {
	case <-s.finished():
		t.Fatal("torn down while a container was starting")
	case <-time.After(100 * time.Millisecond):
	}
	_ = s.recordStartFailure(c, shimdir.ReasonRunError, errors.New("start aborted"))
	waitClosed(t, "the teardown after the last stop", s.finished())
}

func waitClosed(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// eventsStream is the server side of an Events stream; Send blocks while
// hold is set, standing for a client that does not read.
type eventsStream struct {
	ctx  context.Context
	hold chan struct{}
	sent chan *shimv1.ContainerState
}

func newEventsStream(ctx context.Context) *eventsStream {
	return &eventsStream{ctx: ctx, sent: make(chan *shimv1.ContainerState, 2*subscriberBuffer)}
}

func (e *eventsStream) Context() context.Context { return e.ctx }
func (e *eventsStream) Send(st *shimv1.ContainerState) error {
	if e.hold != nil {
		<-e.hold
	}
	e.sent <- st
	return nil
}

// serveEvents runs Events on a stream and waits until it has subscribed.
func serveEvents(t *testing.T, s *service, stream *eventsStream) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.Events(&shimv1.EventsRequest{}, stream) }()
	waitFor(t, "the Events subscription", func() bool {
		s.events.mu.Lock()
		defer s.events.mu.Unlock()
		return len(s.events.subs) == 1
	})
	return done
}

func waitErr(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Events did not return")
		return nil
	}
}

// Events sends each published state and ends cleanly when the client goes.
func TestEventsStreamsUntilTheClientGoes(t *testing.T) {
	s := testService(t)
	ctx, cancel := context.WithCancel(context.Background())
	stream := newEventsStream(ctx)
	done := serveEvents(t, s, stream)
	s.events.publish(&shimv1.ContainerState{Id: "app-0", Status: shimv1.Status_STATUS_RUNNING})
	if got := <-stream.sent; got.Id != "app-0" {
		t.Fatalf("sent %v", got)
	}
	cancel()
	if err := waitErr(t, done); err != nil {
		t.Fatalf("Events after the client went: %v", err)
	}
}

// A shutdown ends the stream without error; a client that falls too far
// behind gets ResourceExhausted, its cue to resync with State.
func TestEventsEnd(t *testing.T) {
	t.Run("shutdown", func(t *testing.T) {
		s := testService(t)
		done := serveEvents(t, s, newEventsStream(context.Background()))
		s.beginShutdown(false)
		if err := waitErr(t, done); err != nil {
			t.Fatalf("Events at shutdown: %v", err)
		}
	})
	t.Run("fell behind", func(t *testing.T) {
		s := testService(t)
		stream := newEventsStream(context.Background())
		stream.hold = make(chan struct{})
		done := serveEvents(t, s, stream)
		s.events.publish(&shimv1.ContainerState{Id: "app-0"})
		waitFor(t, "the first event to be held in Send", func() bool {
			s.events.mu.Lock()
			defer s.events.mu.Unlock()
			for ch := range s.events.subs {
				return len(ch) == 0
			}
			return false
		})
		for range subscriberBuffer + 1 { // a full buffer, then one too many
			s.events.publish(&shimv1.ContainerState{Id: "app-0"})
		}
		close(stream.hold)
		err := waitErr(t, done)
		if status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("Events of a slow client: %v, want ResourceExhausted", err)
		}
		if n := len(stream.sent); n != subscriberBuffer+1 {
			t.Errorf("sent %d events before the end, want the %d buffered", n, subscriberBuffer+1)
		}
	})
}

// Once the teardown is done the shim's servers stop at once, also while the
// daemon follows its events: ttrpc's Shutdown looks for idle connections
// only every 200 ms, and each pod's delete waited for that (issue 13: the
// daemon's shim stop took 226 ms of a 5 ms teardown, 200 pods deleted four
// at a time).
func TestServersStopPromptlyAfterTheTeardown(t *testing.T) {
	s := testService(t)
	s.trim = newMemTrim()
	srvs, err := serve(s, s.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := shim.Connect(ctx, s.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	events, err := cl.Events(ctx, &shimv1.EventsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.State(ctx, &shimv1.StateRequest{}); err != nil {
		t.Fatal(err)
	}
	s.beginShutdown(true)
	<-s.finished() // and at once, as the shim's main does
	start := time.Now()
	srvs.stopGracefully(5 * time.Second)
	if took := time.Since(start); took >= 150*time.Millisecond {
		t.Errorf("the servers took %v to stop after the teardown; want them to stop at once", took)
	}
	if _, err := events.Recv(); err == nil {
		t.Error("an event after the teardown")
	}
}
