package verb

import (
	"fmt"
	"io"
	"time"
)

// Streams are the standard streams a verb reads and writes.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// Clock returns the time used for ages; nil means time.Now.
type Clock func() time.Time

func (c Clock) now() time.Time {
	if c == nil {
		return time.Now()
	}
	return c()
}

// ExitError ends podctl with Code after printing Message (if any) to stderr,
// for errors already reported and for exec's remote exit code.
type ExitError struct {
	Code    int
	Message string
}

func (e *ExitError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("exit code %d", e.Code)
}

// errReported is returned when a verb has already printed its errors (it
// continued past some of them, as kubectl does) and must exit 1.
var errReported = &ExitError{Code: 1}
