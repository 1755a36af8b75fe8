package daemon

import (
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
		{errors.New("boom"), codes.Internal},
	} {
		st, _ := status.FromError(toGRPC(tc.err))
		if st.Code() != tc.code || st.Message() != tc.err.Error() {
			t.Errorf("%v → %v %q, want %v", tc.err, st.Code(), st.Message(), tc.code)
		}
	}
}
