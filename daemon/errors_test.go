package daemon

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestToGRPCMapsClasses(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code codes.Code
	}{
		{classed(ErrNotFound, "pods %q not found", "x"), codes.NotFound},
		{fmt.Errorf("apply: %w", classed(ErrInvalidArgument, "spec.containers[0].image: Required value")), codes.InvalidArgument},
		{classed(ErrFailedPrecondition, "static pod"), codes.FailedPrecondition},
		{classed(ErrAlreadyExists, "pod %q exists", "x"), codes.AlreadyExists},
		{fmt.Errorf("connect: %w", classed(ErrUnavailable, "shim busy")), codes.Unavailable},
		{fmt.Errorf("wait for pod %q: %w", "x", context.Canceled), codes.Canceled},
		{fmt.Errorf("wait for pod %q: %w", "x", context.DeadlineExceeded), codes.DeadlineExceeded},
		{errors.Join(classed(ErrNotFound, "a"), classed(ErrInvalidArgument, "b")), codes.NotFound},
		{status.Error(codes.ResourceExhausted, "from the shim"), codes.ResourceExhausted},
		{errors.New("boom"), codes.Internal},
	} {
		st, _ := status.FromError(toGRPC(tc.err))
		want := tc.err.Error()
		if s, ok := status.FromError(tc.err); ok {
			want = s.Message() // a status passes through as it is
		}
		if st.Code() != tc.code || st.Message() != want {
			t.Errorf("%v → %v %q, want %v", tc.err, st.Code(), st.Message(), tc.code)
		}
	}
}

func TestToGRPCKeepsNil(t *testing.T) {
	if err := toGRPC(nil); err != nil {
		t.Errorf("toGRPC(nil) = %v", err)
	}
}

// classed errors keep their text and their cause for errors.Is.
func TestClassedWraps(t *testing.T) {
	err := classed(ErrNotFound, "image %q: %w", "x", context.Canceled)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, context.Canceled) || errors.Is(err, ErrInvalidArgument) {
		t.Errorf("errors.Is on %v: class or cause lost", err)
	}
	if err.Error() != `image "x": context canceled` {
		t.Errorf("text %q", err.Error())
	}
}
