package server

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim/server/internal/libct"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// fakeTask records what the table asks of a task; its process ends when
// exit is sent.
type fakeTask struct {
	mu        sync.Mutex
	signals   []unix.Signal
	destroyed bool
	exit      chan libct.Exit
}

func newFakeTask() *fakeTask { return &fakeTask{exit: make(chan libct.Exit, 1)} }

func (f *fakeTask) Signal(sig unix.Signal, _ bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals = append(f.signals, sig)
	return nil
}
func (f *fakeTask) KillLeftovers() error          { return nil }
func (f *fakeTask) OOMKillCount() (uint64, error) { return 0, nil }
func (f *fakeTask) Destroy() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.destroyed = true
	return nil
}
func (f *fakeTask) Pid() int                  { return 4242 }
func (f *fakeTask) Wait() (libct.Exit, error) { return <-f.exit, nil }

// A holder config the shim cannot start is refused before anything is
// made, and recorded as the holder's start failure (the daemon then sees
// the pause stopped and the sandbox lost).
func TestHolderConfigErrorIsRecorded(t *testing.T) {
	s := testService(t)
	cfg := &shimv1.ContainerConfig{Id: "pause", Holder: true, Args: []string{"podd-pause"}, CgroupPath: "/p/pause"}
	_, err := s.CreateContainer(context.Background(), &shimv1.CreateContainerRequest{Config: cfg})
	wantCode(t, "relative holder program", err, codes.Unknown, "absolute host path")
	st := s.lookup("pause").snapshot()
	if st.GetStatus() != shimv1.Status_STATUS_STOPPED || st.GetExitCode() != 128 || st.GetReason() != shimdir.ReasonRunError {
		t.Fatalf("holder state %v", st)
	}
}

// A running holder is driven like any container (signal, shutdown, exit
// record, destroy) but has no output to drain, and refuses exec and
// update, which only a libcontainer container has.
func TestHolderRunsThroughTheTable(t *testing.T) {
	s := testService(t)
	c := newContainer(&shimv1.ContainerConfig{Id: "pause", Holder: true, LogPath: filepath.Join(t.TempDir(), "pause.log")}, time.Unix(2000, 0))
	s.containers["pause"] = c
	task := newFakeTask()
	c.task, c.proc = task, task
	if st := s.markRunning(c); st.GetStatus() != shimv1.Status_STATUS_RUNNING || st.GetPid() != 4242 {
		t.Fatalf("running state %v", st)
	}
	ctx := context.Background()
	_, err := s.Update(ctx, &shimv1.UpdateRequest{Id: "pause", Resources: &shimv1.Resources{CpuShares: 4}})
	wantCode(t, "update the holder", err, codes.FailedPrecondition, "namespace holder")
	err = s.Exec(&execStream{reqs: []*shimv1.ExecRequest{execStart("pause", "true")}})
	wantCode(t, "exec in the holder", err, codes.FailedPrecondition, "namespace holder")
	if _, err := s.ReopenLog(ctx, &shimv1.ReopenLogRequest{Id: "pause"}); err != nil {
		t.Fatalf("reopen the holder's log: %v", err)
	}
	if _, err := s.Signal(ctx, &shimv1.SignalRequest{Id: "pause", Signal: int32(unix.SIGTERM)}); err != nil {
		t.Fatal(err)
	}
	s.beginShutdown(true)
	task.exit <- libct.Exit{Code: 0}
	select {
	case <-s.finished():
	case <-time.After(10 * time.Second):
		t.Fatal("the shim did not tear down after the holder ended")
	}
	task.mu.Lock()
	signals, destroyed := task.signals, task.destroyed
	task.mu.Unlock()
	if len(signals) != 2 || signals[0] != unix.SIGTERM || signals[1] != unix.SIGKILL || !destroyed {
		t.Errorf("holder got signals %v, destroyed %v; want TERM, then KILL at the forced shutdown, and destroyed", signals, destroyed)
	}
	b, err := os.ReadFile(shimdir.ExitRecordPath(s.stateDir, "pause"))
	if err != nil {
		t.Fatalf("no exit record: %v", err)
	}
	var rec shimdir.ExitRecord
	if err := json.Unmarshal(b, &rec); err != nil || rec.ExitCode != 0 || rec.Pid != 4242 {
		t.Fatalf("exit record %+v, %v; want the holder's, code 0", rec, err)
	}
}
