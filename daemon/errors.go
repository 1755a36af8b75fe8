package daemon

import (
	"github.com/podd-dev/podd/internal/errdefs"
)

// Error classes used inside the daemon (package errdefs, shared with the CRI
// edge); toGRPC maps them to codes at the API edge and nowhere else.
var (
	ErrNotFound           = errdefs.ErrNotFound
	ErrInvalidArgument    = errdefs.ErrInvalidArgument
	ErrAlreadyExists      = errdefs.ErrAlreadyExists
	ErrFailedPrecondition = errdefs.ErrFailedPrecondition
)

// classed makes an error of class from format and args, as fmt.Errorf does:
// errors.Is holds for class and for every error args wrap with %w.
func classed(class error, format string, args ...any) error {
	return errdefs.Classed(class, format, args...)
}

// toGRPC turns a daemon error into a gRPC status error.
func toGRPC(err error) error { return errdefs.ToGRPC(err) }
