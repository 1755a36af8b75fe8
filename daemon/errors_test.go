package daemon

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestToGRPCKeepsNil(t *testing.T) {
	if err := toGRPC(nil); err != nil {
		t.Errorf("toGRPC(nil) = %v", err)
	}
}

// Issue 8 item 4: classed wraps what its format wraps with %w, so callers
// (and tests) can still tell the cause; the class still decides the code,
// even over a wrapped gRPC error of a shim.
func TestClassedWrapsItsCause(t *testing.T) {
	cause := errors.New("no such image")
	shimErr := status.Error(codes.Unavailable, "shim busy")
	for _, tc := range []struct {
		err   error
		cause error
		class error
		code  codes.Code
	}{
		{classed(ErrNotFound, "%w", cause), cause, ErrNotFound, codes.NotFound},
		{classed(ErrInvalidArgument, "import image from %s: %w", "/x", cause), cause, ErrInvalidArgument, codes.InvalidArgument},
		{fmt.Errorf("exec: %w", classed(ErrFailedPrecondition, "%w", shimErr)), shimErr, ErrFailedPrecondition, codes.FailedPrecondition},
	} {
		if !errors.Is(tc.err, tc.cause) || !errors.Is(tc.err, tc.class) {
			t.Errorf("%v: errors.Is cause %t, class %t; want both", tc.err, errors.Is(tc.err, tc.cause), errors.Is(tc.err, tc.class))
		}
		if st, _ := status.FromError(toGRPC(tc.err)); st.Code() != tc.code || st.Message() != tc.err.Error() {
			t.Errorf("%v → %v %q, want %v", tc.err, st.Code(), st.Message(), tc.code)
		}
	}
	if st, _ := status.FromError(toGRPC(fmt.Errorf("call shim: %w", shimErr))); st.Code() != codes.Unavailable {
		t.Errorf("an unclassed gRPC error keeps its code; got %v", st.Code())
	}
}
