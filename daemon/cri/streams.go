package cri

import (
	"context"
	"io"
)

// AttachOptions is one client attached to a CRI container's own stdio.
type AttachOptions struct {
	Stdin  io.Reader // nil: no input
	Stdout io.Writer // nil: not wanted
	Stderr io.Writer // nil: not wanted (a terminal has none)
	Tty    bool
	// StdinOnce closes the container's stdin when this client's input
	// ends (the container's stdin_once); without it the end of the input
	// detaches the client.
	StdinOnce bool
	Resize    <-chan Size // terminal sizes, nil without Tty
}

// StreamContainers is what the streaming calls need of the CRI
// containers: Containers' Get and Exec, and Attach.
type StreamContainers interface {
	// Get returns one container; an unknown ID is errdefs.ErrNotFound.
	Get(ctx context.Context, id string) (Container, error)
	// Exec runs a process in a running container.
	Exec(ctx context.Context, containerID string, opts ExecOptions) (exitCode int32, err error)
	// Attach connects to a running container's own stdio until ctx ends,
	// the client detaches or the container exits.
	Attach(ctx context.Context, containerID string, opts AttachOptions) error
}
