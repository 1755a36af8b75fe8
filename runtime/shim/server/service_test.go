package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// testService is a shim service over a temp state dir with no libcontainer
// runtime: what these tests drive never reaches it (validation, the table,
// recorded failures, removal and shutdown of containers that never ran).
func testService(t *testing.T) *service {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(shimdir.ExitsDir(dir), 0o700); err != nil {
		t.Fatal(err)
	}
	return &service{
		podUID:     "uid-1",
		stateDir:   dir,
		log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		reaper:     newReaper(slog.New(slog.NewTextHandler(io.Discard, nil))),
		events:     newBroker(),
		execStarts: newStartLimit(1),
		started:    time.Unix(1000, 0),
		containers: map[string]*container{},
		done:       make(chan struct{}),
	}
}

// add puts a container into the table in state st (moved there by its
// legal transitions).
func (s *service) add(t *testing.T, id string, st state) *container {
	t.Helper()
	c := newContainer(&shimv1.ContainerConfig{Id: id}, time.Unix(2000, 0))
	c.st = st
	s.mu.Lock()
	s.containers[id] = c
	s.mu.Unlock()
	return c
}

func wantCode(t *testing.T, what string, err error, code codes.Code, substr string) {
	t.Helper()
	if status.Code(err) != code || !strings.Contains(err.Error(), substr) {
		t.Fatalf("%s: %v, want code %v and %q", what, err, code, substr)
	}
}

func TestInfoNamesThePod(t *testing.T) {
	s := testService(t)
	info, err := s.Info(context.Background(), &shimv1.InfoRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if info.PodUid != "uid-1" || info.Pid != int32(os.Getpid()) || info.StartedUnixNano != time.Unix(1000, 0).UnixNano() {
		t.Fatalf("info %v", info)
	}
}

// CreateContainer refuses, before anything is made, a config without id,
// an id already in the table, and any container once a shutdown began.
func TestCreateContainerRefusals(t *testing.T) {
	s := testService(t)
	s.add(t, "app-0", stoppedState{rec: &shimdir.ExitRecord{ID: "app-0"}})
	ctx := context.Background()
	_, err := s.CreateContainer(ctx, &shimv1.CreateContainerRequest{Config: &shimv1.ContainerConfig{}})
	wantCode(t, "no id", err, codes.InvalidArgument, "config.id is empty")
	_, err = s.CreateContainer(ctx, &shimv1.CreateContainerRequest{})
	wantCode(t, "no config", err, codes.InvalidArgument, "config.id is empty")
	_, err = s.CreateContainer(ctx, &shimv1.CreateContainerRequest{Config: &shimv1.ContainerConfig{Id: "app-0"}})
	wantCode(t, "same id", err, codes.AlreadyExists, `"app-0" exists`)

	s.mu.Lock()
	s.shuttingDown = true
	s.mu.Unlock()
	_, err = s.CreateContainer(ctx, &shimv1.CreateContainerRequest{Config: &shimv1.ContainerConfig{Id: "app-1"}})
	wantCode(t, "during shutdown", err, codes.FailedPrecondition, "shim is shutting down")
	if s.lookup("app-1") != nil {
		t.Fatal("a refused container is in the table")
	}
}

// A start that fails before the process exists (here: its log cannot be
// opened) is recorded as the container's exit, code 128 with the reason
// RunContainerError, on disk before the stop is published; the container
// stays in the table, stopped, for the daemon to read and remove (R22).
func TestCreateContainerRecordsAFailedStart(t *testing.T) {
	s := testService(t)
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	events, cancel := s.events.subscribe()
	defer cancel()
	cfg := &shimv1.ContainerConfig{Id: "app-0", LogPath: filepath.Join(notDir, "app", "0.log"), Labels: map[string]string{"k": "v"}}
	_, err := s.CreateContainer(context.Background(), &shimv1.CreateContainerRequest{Config: cfg})
	wantCode(t, "unopenable log", err, codes.Unknown, shimdir.ReasonRunError)

	var rec shimdir.ExitRecord
	b, err := os.ReadFile(shimdir.ExitRecordPath(s.stateDir, "app-0"))
	if err != nil {
		t.Fatalf("no exit record: %v", err)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.ExitCode != 128 || rec.Reason != shimdir.ReasonRunError || !strings.Contains(rec.Message, "open log") ||
		rec.LogPath != cfg.LogPath || rec.Labels["k"] != "v" || rec.FinishedUnixNano < rec.CreatedUnixNano {
		t.Fatalf("exit record %+v", rec)
	}
	select {
	case ev := <-events:
		if ev.Status != shimv1.Status_STATUS_STOPPED || ev.Reason != shimdir.ReasonRunError || ev.ExitCode != 128 {
			t.Fatalf("published %v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the failed start was not published")
	}
	st, _ := s.State(context.Background(), &shimv1.StateRequest{})
	if len(st.Containers) != 1 || st.Containers[0].Status != shimv1.Status_STATUS_STOPPED || st.Containers[0].Message != rec.Message {
		t.Fatalf("state %v", st)
	}
	select {
	case <-s.lookup("app-0").stopped:
	default:
		t.Fatal("stopped not closed after the failure was recorded")
	}
}

// Signal: unknown and bad signals are refused, a container not started yet
// cannot be signalled, a stopped or removed one is left alone.
func TestSignalRefusalsAndStoppedContainers(t *testing.T) {
	s := testService(t)
	s.add(t, "created-0", createdState{})
	s.add(t, "stopped-0", stoppedState{rec: &shimdir.ExitRecord{ID: "stopped-0"}})
	s.add(t, "removed-0", removedState{})
	ctx := context.Background()
	for _, tc := range []struct {
		id     string
		sig    int32
		code   codes.Code
		substr string
	}{
		{"none-0", 15, codes.NotFound, "no such container"},
		{"stopped-0", 0, codes.InvalidArgument, "bad signal 0"},
		{"stopped-0", 65, codes.InvalidArgument, "bad signal 65"},
		{"stopped-0", -9, codes.InvalidArgument, "bad signal -9"},
		{"created-0", 15, codes.FailedPrecondition, "not started"},
		{"stopped-0", 9, codes.OK, ""},
		{"removed-0", 9, codes.OK, ""},
	} {
		_, err := s.Signal(ctx, &shimv1.SignalRequest{Id: tc.id, Signal: tc.sig})
		if tc.code == codes.OK {
			if err != nil {
				t.Errorf("signal %d to %s: %v", tc.sig, tc.id, err)
			}
			continue
		}
		wantCode(t, "signal "+tc.id, err, tc.code, tc.substr)
	}
}

// Remove forgets a stopped container and its exit record; it refuses one
// that is created or running, and an unknown id is already removed.
func TestRemove(t *testing.T) {
	s := testService(t)
	rec := &shimdir.ExitRecord{ID: "app-0", ExitCode: 1}
	s.add(t, "app-0", stoppedState{rec: rec})
	s.add(t, "created-0", createdState{})
	s.add(t, "running-0", runningState{pid: 42})
	if err := s.writeRecord(rec); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err := s.Remove(ctx, &shimv1.RemoveRequest{Id: "created-0"})
	wantCode(t, "remove created", err, codes.FailedPrecondition, "it is created")
	_, err = s.Remove(ctx, &shimv1.RemoveRequest{Id: "running-0"})
	wantCode(t, "remove running", err, codes.FailedPrecondition, "it is running")

	c := s.lookup("app-0")
	if _, err := s.Remove(ctx, &shimv1.RemoveRequest{Id: "app-0"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(shimdir.ExitRecordPath(s.stateDir, "app-0")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("exit record after remove: %v", err)
	}
	if s.lookup("app-0") != nil {
		t.Error("removed container still in the table")
	}
	if _, ok := c.st.(removedState); !ok {
		t.Errorf("removed container in state %s", c.st.name())
	}
	for _, id := range []string{"app-0", "never-0"} {
		if _, err := s.Remove(ctx, &shimv1.RemoveRequest{Id: id}); err != nil {
			t.Errorf("remove %s again: %v", id, err)
		}
	}
	// A stopped container whose record is already gone (a crash between
	// the two) is still removed.
	s.add(t, "app-1", stoppedState{rec: &shimdir.ExitRecord{ID: "app-1"}})
	if _, err := s.Remove(ctx, &shimv1.RemoveRequest{Id: "app-1"}); err != nil {
		t.Fatalf("remove without a record: %v", err)
	}
}

// State lists every container in id order, each as its state shows it.
func TestStateListsInIDOrder(t *testing.T) {
	s := testService(t)
	s.add(t, "web-1", runningState{pid: 7, started: time.Unix(3000, 0)})
	s.add(t, "app-0", createdState{})
	s.add(t, "pause", runningState{pid: 5})
	s.add(t, "init-0", stoppedState{rec: &shimdir.ExitRecord{ID: "init-0", ExitCode: 3}})
	st, err := s.State(context.Background(), &shimv1.StateRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range st.Containers {
		got = append(got, c.Id+":"+c.Status.String())
	}
	want := "app-0:STATUS_CREATED init-0:STATUS_STOPPED pause:STATUS_RUNNING web-1:STATUS_RUNNING"
	if strings.Join(got, " ") != want {
		t.Fatalf("state %v, want %s", got, want)
	}
	if st.Containers[3].Pid != 7 || st.Containers[1].ExitCode != 3 {
		t.Errorf("state lost pid or exit code: %v", st.Containers)
	}
}

// namespacePid gives the init pid of a running container only: another
// container joins its namespaces by it.
func TestNamespacePid(t *testing.T) {
	s := testService(t)
	s.add(t, "pause", runningState{pid: 42})
	s.add(t, "app-0", createdState{})
	if pid, err := s.namespacePid("pause"); err != nil || pid != 42 {
		t.Errorf("pause: %d %v", pid, err)
	}
	if _, err := s.namespacePid("app-0"); err == nil || !strings.Contains(err.Error(), `"app-0" is not running`) {
		t.Errorf("created: %v", err)
	}
	if _, err := s.namespacePid("gone"); err == nil || !strings.Contains(err.Error(), `no container "gone"`) {
		t.Errorf("unknown: %v", err)
	}
}

// The exit record is the stopped state as it will be read back after the
// shim is gone.
func TestWriteRecordRoundTrips(t *testing.T) {
	s := testService(t)
	rec := &shimdir.ExitRecord{ID: "app-0", Pid: 9, CreatedUnixNano: 1, StartedUnixNano: 2, FinishedUnixNano: 3,
		ExitCode: 137, Signal: 9, OOMKilled: true, LogPath: "/l/0.log", Labels: map[string]string{"a": "b"}}
	if err := s.writeRecord(rec); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(shimdir.ExitRecordPath(s.stateDir, "app-0"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("record file %v %v", fi, err)
	}
	b, _ := os.ReadFile(shimdir.ExitRecordPath(s.stateDir, "app-0"))
	var got shimdir.ExitRecord
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if g, w := got.State().String(), rec.State().String(); g != w {
		t.Fatalf("read back %s, want %s", g, w)
	}
	os.RemoveAll(shimdir.ExitsDir(s.stateDir))
	if err := s.writeRecord(rec); err == nil {
		t.Fatal("writing into a missing exits dir succeeded")
	}
}

// Each mark closes the step since the previous one.
func TestPhaseClock(t *testing.T) {
	t0 := time.Unix(0, 0)
	p := newPhaseClock(t0)
	p.mark("log_open", t0.Add(3*time.Millisecond))
	p.mark("libcontainer_create", t0.Add(10*time.Millisecond))
	var got []string
	for _, ph := range p.phases {
		got = append(got, ph.Name+"="+time.Duration(ph.Nanos).String())
	}
	if want := "log_open=3ms libcontainer_create=7ms"; strings.Join(got, " ") != want {
		t.Fatalf("phases %v, want %s", got, want)
	}
}
