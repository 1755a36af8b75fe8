// Package undo is podd's one way to roll back a setup that makes several
// things: each step is registered with a description as soon as what it
// undoes exists, and a rollback runs them newest first under a detached,
// bounded context and reports every failure.
package undo

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultTimeout bounds a whole rollback when Stack.Timeout is zero.
const DefaultTimeout = time.Minute

// ErrIncomplete is wrapped by the error of a rollback that did not finish:
// something it should have released may still exist.
var ErrIncomplete = errors.New("rollback incomplete")

// Stack holds the undo steps of one setup in progress. The zero value is
// ready to use. A Stack is used by one goroutine.
type Stack struct {
	// Timeout bounds Run; DefaultTimeout when zero.
	Timeout time.Duration

	steps    []step
	released bool
}

type step struct {
	what string
	fn   func(context.Context) error
}

// Push registers fn, which undoes what was just made; what describes it
// ("remove netns pin 3fa9…"), so that the list of descriptions reads as the
// teardown order. fn must capture the values it needs in locals now: it
// runs after the setup returned, maybe after a panic.
func (s *Stack) Push(what string, fn func(context.Context) error) {
	s.steps = append(s.steps, step{what: what, fn: fn})
}

// Steps returns the descriptions in the order Run executes them.
func (s *Stack) Steps() []string {
	out := make([]string, 0, len(s.steps))
	for i := len(s.steps) - 1; i >= 0; i-- {
		out = append(out, s.steps[i].what)
	}
	return out
}

// Release forgets every step: the setup succeeded and what it made is kept.
func (s *Stack) Release() {
	s.steps = nil
	s.released = true
}

// Run executes the steps newest first and empties the stack. It runs under
// ctx's values but not its cancellation (the caller's context is often the
// thing that was cancelled), bounded by the Timeout. It keeps going after a
// failed step and returns every failure, each named by its description,
// wrapped in ErrIncomplete. A step that panics is reported as a failure too.
func (s *Stack) Run(ctx context.Context) error {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	var errs []error
	for i := len(s.steps) - 1; i >= 0; i-- {
		st := s.steps[i]
		if err := runStep(ctx, st); err != nil {
			errs = append(errs, fmt.Errorf("undo: %s: %w", st.what, err))
		}
	}
	s.steps = nil
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrIncomplete, errors.Join(errs...))
}

func runStep(ctx context.Context, st step) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return st.fn(ctx)
}

// OnFailure is deferred right after the Stack is declared: unless the setup
// called Release, it runs the steps and joins their failures into *errp.
// It also runs while a panic unwinds the setup (and lets the panic go on),
// so a half-made setup is undone whatever cut it short.
func (s *Stack) OnFailure(ctx context.Context, errp *error) {
	if s.released {
		return
	}
	if err := s.Run(ctx); err != nil && errp != nil {
		*errp = errors.Join(*errp, err)
	}
}
