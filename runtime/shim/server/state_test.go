package server

import (
	"errors"
	"testing"
	"time"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
	"github.com/podd-dev/podd/runtime/shim/shimdir"
)

// TestStateTransitions covers the shim's container lifecycle (R22: a failed
// start is a stopped container with a reason).
func TestStateTransitions(t *testing.T) {
	rec := &shimdir.ExitRecord{ID: "app-0"}
	moves := map[string]func(state) (state, error){
		"hold":    func(s state) (state, error) { return s.hold(42) },
		"release": func(s state) (state, error) { return s.release() },
		"start":   func(s state) (state, error) { return s.start(42, time.Unix(1, 0)) },
		"stop":    func(s state) (state, error) { return s.stop(rec) },
		"remove":  func(s state) (state, error) { return s.remove() },
	}
	tests := []struct {
		from    state
		move    string
		want    shimv1.Status // STATUS_UNKNOWN with wantErr unset means removed
		wantErr bool
	}{
		{createdState{}, "hold", shimv1.Status_STATUS_CREATED, false},
		{createdState{}, "release", 0, true},
		{heldState{}, "hold", 0, true},
		{heldState{}, "release", shimv1.Status_STATUS_CREATED, false},
		{heldState{}, "start", 0, true},
		{heldState{}, "stop", shimv1.Status_STATUS_STOPPED, false},
		{heldState{}, "remove", 0, true},
		{releasingState{}, "hold", 0, true},
		{releasingState{}, "release", 0, true},
		{releasingState{}, "start", shimv1.Status_STATUS_RUNNING, false},
		{releasingState{}, "stop", shimv1.Status_STATUS_STOPPED, false},
		{releasingState{}, "remove", 0, true},
		{runningState{}, "hold", 0, true},
		{runningState{}, "release", 0, true},
		{stoppedState{rec: rec}, "hold", 0, true},
		{removedState{}, "release", 0, true},
		{createdState{}, "start", shimv1.Status_STATUS_RUNNING, false},
		{createdState{}, "stop", shimv1.Status_STATUS_STOPPED, false},
		{createdState{}, "remove", 0, true},
		{runningState{}, "start", 0, true},
		{runningState{}, "stop", shimv1.Status_STATUS_STOPPED, false},
		{runningState{}, "remove", 0, true},
		{stoppedState{rec: rec}, "start", 0, true},
		{stoppedState{rec: rec}, "stop", 0, true},
		{stoppedState{rec: rec}, "remove", shimv1.Status_STATUS_UNKNOWN, false},
		{removedState{}, "start", 0, true},
		{removedState{}, "stop", 0, true},
		{removedState{}, "remove", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.from.name()+"/"+tt.move, func(t *testing.T) {
			got, err := moves[tt.move](tt.from)
			if tt.wantErr {
				if !errors.Is(err, errIllegalTransition) || got != nil {
					t.Fatalf("got (%v, %v), want an illegal transition error", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.status() != tt.want {
				t.Fatalf("status = %v, want %v", got.status(), tt.want)
			}
		})
	}
	if s, _ := (createdState{}).start(42, time.Unix(1, 0)); s.(runningState).pid != 42 {
		t.Fatalf("running state lost its pid: %+v", s)
	}
}
