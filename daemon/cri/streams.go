package cri

import (
	"context"
	"io"
	"time"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ExecOptions is one process to run in a CRI container.
type ExecOptions struct {
	Cmd     []string
	Tty     bool
	Stdin   io.Reader     // nil: no stdin
	Stdout  io.Writer     // nil: discarded
	Stderr  io.Writer     // nil: discarded (unused with Tty)
	Resize  <-chan Size   // terminal sizes, nil without Tty
	Timeout time.Duration // 0: none
}

// Size is a terminal's size in characters.
type Size struct{ Width, Height uint16 }

// AttachOptions is one client attached to a CRI container's own stdio.
type AttachOptions struct {
	Stdin  io.Reader // nil: no input
	Stdout io.Writer // nil: not wanted
	Stderr io.Writer // nil: not wanted (a terminal has none)
	Tty    bool
	Resize <-chan Size // terminal sizes, nil without Tty
}

// StreamContainers is what Exec and Attach need of the daemon's CRI
// containers.
type StreamContainers interface {
	// Exec runs one process in a running container until it exits, ctx
	// ends or its timeout passes, and returns its exit code.
	Exec(ctx context.Context, containerID string, opts ExecOptions) (exitCode int32, err error)
	// Attach connects to a running container's own stdio until ctx ends
	// or the container exits; with stdin_once, the end of the client's
	// input closes the container's stdin.
	Attach(ctx context.Context, containerID string, opts AttachOptions) error
	// StreamTarget reports what Exec and Attach check before they hand
	// out a URL; an unknown ID is errdefs.ErrNotFound.
	StreamTarget(ctx context.Context, containerID string) (StreamTarget, error)
}

// StreamTarget is a container as the streaming calls check it.
type StreamTarget struct {
	State runtimeapi.ContainerState
	// Stdin: the container was created with stdin.
	Stdin bool
}

// Running reports whether the container runs.
func (t StreamTarget) Running() bool { return t.State == runtimeapi.ContainerState_CONTAINER_RUNNING }
