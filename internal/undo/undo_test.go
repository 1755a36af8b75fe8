package undo

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// Steps run newest first, every one of them even after failures, and every
// failure is reported under its description.
func TestRunReverseOrderAndEveryError(t *testing.T) {
	var s Stack
	var ran []string
	s.Push("remove pin", func(context.Context) error { ran = append(ran, "pin"); return errors.New("busy") })
	s.Push("cni del", func(context.Context) error { ran = append(ran, "cni"); return nil })
	s.Push("stop shim", func(context.Context) error { ran = append(ran, "shim"); return errors.New("gone wrong") })
	if got := s.Steps(); !slices.Equal(got, []string{"stop shim", "cni del", "remove pin"}) {
		t.Fatalf("Steps = %v", got)
	}
	err := s.Run(context.Background())
	if !slices.Equal(ran, []string{"shim", "cni", "pin"}) {
		t.Fatalf("ran %v, want newest first", ran)
	}
	for _, want := range []string{"undo: stop shim: gone wrong", "undo: remove pin: busy"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not report %q", err, want)
		}
	}
	if !errors.Is(err, ErrIncomplete) {
		t.Errorf("error %v does not say the rollback is incomplete", err)
	}
	if len(s.Steps()) != 0 {
		t.Error("Run left steps behind")
	}
}

// A rollback runs even when the caller's context is cancelled, bounded by
// the stack's own timeout.
func TestRunDetachedAndBounded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := Stack{Timeout: 50 * time.Millisecond}
	var sawCancelled bool
	s.Push("wait", func(ctx context.Context) error {
		sawCancelled = ctx.Err() != nil
		<-ctx.Done()
		return ctx.Err()
	})
	start := time.Now()
	err := s.Run(ctx)
	if sawCancelled {
		t.Error("the step saw the caller's cancellation")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the stack's deadline", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v", d)
	}
}

func setup(fail, panics bool, ran *[]string) (err error) {
	var s Stack
	defer s.OnFailure(context.Background(), &err)
	s.Push("first", func(context.Context) error { *ran = append(*ran, "first"); return nil })
	if panics {
		panic("boom")
	}
	if fail {
		return errors.New("step two failed")
	}
	s.Release()
	return nil
}

// OnFailure undoes a setup that returned an error or panicked, and nothing
// of one that succeeded.
func TestOnFailure(t *testing.T) {
	var ran []string
	if err := setup(false, false, &ran); err != nil || len(ran) != 0 {
		t.Errorf("success: err %v, undid %v", err, ran)
	}
	if err := setup(true, false, &ran); err == nil || !slices.Equal(ran, []string{"first"}) {
		t.Errorf("failure: err %v, undid %v", err, ran)
	}
	ran = nil
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not go on")
			}
		}()
		setup(false, true, &ran)
	}()
	if !slices.Equal(ran, []string{"first"}) {
		t.Errorf("panic: undid %v", ran)
	}
}

// A step that panics is a reported failure; the steps below it still run.
func TestStepPanicIsAnError(t *testing.T) {
	var s Stack
	ran := false
	s.Push("older", func(context.Context) error { ran = true; return nil })
	s.Push("broken", func(context.Context) error { panic("nil map") })
	err := s.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "undo: broken: panic: nil map") || !ran {
		t.Errorf("err %v, older ran %v", err, ran)
	}
}
