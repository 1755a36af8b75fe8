package errdefs

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestToGRPC(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code codes.Code
	}{
		{Classed(ErrNotFound, "pods %q not found", "x"), codes.NotFound},
		{fmt.Errorf("apply: %w", Classed(ErrInvalidArgument, "bad")), codes.InvalidArgument},
		{Classed(ErrAlreadyExists, "dup"), codes.AlreadyExists},
		{Classed(ErrFailedPrecondition, "in use"), codes.FailedPrecondition},
		{Classed(ErrUnavailable, "later"), codes.Unavailable},
		{Classed(ErrUnimplemented, "checkpoints"), codes.Unimplemented},
		{fmt.Errorf("pull: %w", context.Canceled), codes.Canceled},
		{fmt.Errorf("pull: %w", context.DeadlineExceeded), codes.DeadlineExceeded},
		{errors.Join(Classed(ErrNotFound, "a"), Classed(ErrInvalidArgument, "b")), codes.NotFound},
		{status.Error(codes.ResourceExhausted, "from the shim"), codes.ResourceExhausted},
		{errors.New("boom"), codes.Internal},
	} {
		st, _ := status.FromError(ToGRPC(tc.err))
		want := tc.err.Error()
		if s, ok := status.FromError(tc.err); ok {
			want = s.Message() // a status passes through as it is
		}
		if st.Code() != tc.code || st.Message() != want {
			t.Errorf("%v → %v %q, want %v", tc.err, st.Code(), st.Message(), tc.code)
		}
	}
	if ToGRPC(nil) != nil {
		t.Error("ToGRPC(nil) is not nil")
	}
	already := status.Error(codes.Aborted, "x")
	if ToGRPC(already) != already {
		t.Error("a status error was rewritten")
	}
	// %w keeps the chain of the wrapped error besides the class.
	inner := errors.New("inner")
	if err := Classed(ErrNotFound, "outer: %w", inner); !errors.Is(err, inner) || !errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidArgument) {
		t.Errorf("Classed chain: %v", err)
	}
}
