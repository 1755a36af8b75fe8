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
		{errors.New("boom"), codes.Internal},
	} {
		st, _ := status.FromError(ToGRPC(tc.err))
		if st.Code() != tc.code || st.Message() != tc.err.Error() {
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
