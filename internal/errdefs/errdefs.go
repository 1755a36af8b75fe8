// Package errdefs holds the error classes the daemon's services return and
// their one mapping to gRPC codes, shared by both API edges (the pod API and
// CRI) so that a class means the same code on either socket.
package errdefs

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error classes. A service wraps its error in one (Classed) and the API edge
// turns it into a code (ToGRPC).
var (
	ErrNotFound           = errors.New("not found")
	ErrInvalidArgument    = errors.New("invalid argument")
	ErrAlreadyExists      = errors.New("already exists")
	ErrFailedPrecondition = errors.New("failed precondition")
	ErrUnavailable        = errors.New("unavailable")
	ErrUnimplemented      = errors.New("unimplemented")
)

// Classed returns an error with the formatted text for which
// errors.Is(err, class) holds; %w in format keeps the wrapped error's chain.
func Classed(class error, format string, args ...any) error {
	return &classedError{class: class, err: fmt.Errorf(format, args...)}
}

type classedError struct {
	class error
	err   error
}

func (e *classedError) Error() string        { return e.err.Error() }
func (e *classedError) Unwrap() []error      { return []error{e.class, e.err} }
func (e *classedError) Is(target error) bool { return target == e.class }

// Code is the gRPC code of err's class (codes.Internal when it has none).
func Code(err error) codes.Code {
	switch {
	case errors.Is(err, ErrNotFound):
		return codes.NotFound
	case errors.Is(err, ErrInvalidArgument):
		return codes.InvalidArgument
	case errors.Is(err, ErrAlreadyExists):
		return codes.AlreadyExists
	case errors.Is(err, ErrFailedPrecondition):
		return codes.FailedPrecondition
	case errors.Is(err, ErrUnavailable):
		return codes.Unavailable
	case errors.Is(err, ErrUnimplemented):
		return codes.Unimplemented
	case errors.Is(err, context.Canceled):
		return codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return codes.DeadlineExceeded
	}
	return codes.Internal
}

// ToGRPC turns a service error into a gRPC status error; a status error
// passes through unchanged, unless a class wraps it (a service's
// FailedPrecondition over a shim's Unavailable): the class decides.
func ToGRPC(err error) error {
	if err == nil {
		return nil
	}
	var c *classedError
	if _, ok := status.FromError(err); ok && !errors.As(err, &c) {
		return err
	}
	return status.Error(Code(err), err.Error())
}
