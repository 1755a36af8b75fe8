package daemon

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error classes used inside the daemon; toGRPC maps them to codes at the API
// edge and nowhere else.
var (
	ErrNotFound           = errors.New("not found")
	ErrInvalidArgument    = errors.New("invalid argument")
	ErrAlreadyExists      = errors.New("already exists")
	ErrFailedPrecondition = errors.New("failed precondition")
)

// classed makes an error of class from format and args, as fmt.Errorf does:
// errors.Is holds for class and for every error args wrap with %w.
func classed(class error, format string, args ...any) error {
	return &classedError{class: class, err: fmt.Errorf(format, args...)}
}

type classedError struct {
	class error
	err   error
}

func (e *classedError) Error() string        { return e.err.Error() }
func (e *classedError) Unwrap() []error      { return []error{e.class, e.err} }
func (e *classedError) Is(target error) bool { return target == e.class }

// toGRPC turns a daemon error into a gRPC status error. A class decides the
// code even when the error wraps a gRPC error of another call (a shim's).
func toGRPC(err error) error {
	if err == nil {
		return nil
	}
	code := codes.Internal
	switch {
	case errors.Is(err, ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, ErrInvalidArgument):
		code = codes.InvalidArgument
	case errors.Is(err, ErrAlreadyExists):
		code = codes.AlreadyExists
	case errors.Is(err, ErrFailedPrecondition):
		code = codes.FailedPrecondition
	default:
		if _, ok := status.FromError(err); ok {
			return err
		}
		switch {
		case errors.Is(err, context.Canceled):
			code = codes.Canceled
		case errors.Is(err, context.DeadlineExceeded):
			code = codes.DeadlineExceeded
		}
	}
	return status.Error(code, err.Error())
}
