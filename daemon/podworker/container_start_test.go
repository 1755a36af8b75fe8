package podworker

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// Issue 8 item 4: a start failure keeps its cause for errors.Is and its
// waiting reason for errors.As.
func TestFailStartWrapsItsCause(t *testing.T) {
	cause := context.DeadlineExceeded
	err := fmt.Errorf("start: %w", failStart("CreateContainerError", "container %q of pod %q: wait to start: %w", "app", "default/web", cause))
	if !errors.Is(err, cause) {
		t.Errorf("errors.Is(%v, %v) = false", err, cause)
	}
	var sf *startFailed
	if !errors.As(err, &sf) || sf.reason != "CreateContainerError" {
		t.Errorf("errors.As gives %+v, want reason CreateContainerError", sf)
	}
	if want := `start: container "app" of pod "default/web": wait to start: context deadline exceeded`; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
}
