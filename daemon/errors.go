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
	ErrUnavailable        = errdefs.ErrUnavailable
)

// classed wraps err so that errors.Is(err, class) holds, keeping err's text.
func classed(class error, format string, args ...any) error {
	return errdefs.Classed(class, format, args...)
}

// toGRPC turns a daemon error into a gRPC status error.
func toGRPC(err error) error { return errdefs.ToGRPC(err) }
