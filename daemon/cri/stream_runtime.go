package cri

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"

	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"
)

// streamRuntime runs the sessions of the streaming server (its
// streaming.Runtime): execs and attaches through the CRI containers,
// port forwards to the sandbox's loopback.
type streamRuntime struct {
	containers StreamContainers
	sandboxes  Sandboxes
	dial       func(ctx context.Context, netnsPath, network, address string) (net.Conn, error)
}

var errNoContainers = errors.New("CRI containers are not implemented yet")

// Exec runs cmd; a non-zero exit code is a utilexec.ExitError, which the
// server reports to the client as the command's exit code.
func (r *streamRuntime) Exec(ctx context.Context, id string, cmd []string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	if r.containers == nil {
		return errNoContainers
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := ExecOptions{Cmd: cmd, Tty: tty, Resize: sizes(ctx, resize)}
	if in != nil {
		opts.Stdin = in
	}
	if out != nil {
		opts.Stdout = out
	}
	if errOut != nil {
		opts.Stderr = errOut
	}
	code, err := r.containers.Exec(ctx, id, opts)
	if err != nil {
		return fmt.Errorf("exec in container %q: %w", id, err)
	}
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command %q in container %q exited with %d", cmd, id, code), Code: int(code)}
	}
	return nil
}

// Attach connects the client to the container's stdio.
func (r *streamRuntime) Attach(ctx context.Context, id string, in io.Reader, out, errOut io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize) error {
	if r.containers == nil {
		return errNoContainers
	}
	c, err := r.containers.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("attach to container %q: %w", id, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := AttachOptions{Tty: tty, StdinOnce: c.config().GetStdinOnce(), Resize: sizes(ctx, resize)}
	if in != nil {
		opts.Stdin = in
	}
	if out != nil {
		opts.Stdout = out
	}
	if errOut != nil {
		opts.Stderr = errOut
	}
	if err := r.containers.Attach(ctx, id, opts); err != nil {
		return fmt.Errorf("attach to container %q: %w", id, err)
	}
	return nil
}

// PortForward connects stream to port on the loopback of the sandbox's
// network namespace (the node's for a host-network sandbox), as containerd
// does, and copies both ways until either side ends.
func (r *streamRuntime) PortForward(ctx context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error {
	sb, err := r.sandboxes.Get(ctx, sandboxID)
	if err != nil {
		return fmt.Errorf("port forward to pod sandbox %q: %w", sandboxID, err)
	}
	if !sb.Ready {
		return fmt.Errorf("port forward to pod sandbox %q: it is not ready", sandboxID)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port)))
	conn, err := r.dial(ctx, sb.NetnsPath, "tcp4", addr)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("port forward to pod sandbox %q: nothing listens on port %d of its loopback (%s refused)", sandboxID, port, addr)
	}
	if err != nil {
		return fmt.Errorf("port forward to port %d of pod sandbox %q: %w", port, sandboxID, err)
	}
	defer conn.Close()
	return splice(ctx, conn, stream)
}

// splice copies between conn and the client's stream until the server side
// ends (or fails), the client's side fails, or ctx ends. The end of the
// client's data half-closes conn, so a server that answers after reading
// its request to the end still answers.
func splice(ctx context.Context, conn net.Conn, stream io.ReadWriteCloser) error {
	fromServer := make(chan error, 1)
	fromClient := make(chan error, 1)
	go func() {
		_, err := io.Copy(stream, conn)
		fromServer <- err
	}()
	go func() {
		_, err := io.Copy(conn, stream)
		if hc, ok := conn.(interface{ CloseWrite() error }); ok && err == nil {
			_ = hc.CloseWrite()
		}
		fromClient <- err
	}()
	select {
	case err := <-fromServer:
		return err
	case err := <-fromClient:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-fromServer:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sizes turns the server's resize events into ExecOptions' until ctx ends.
func sizes(ctx context.Context, in <-chan remotecommand.TerminalSize) <-chan Size {
	if in == nil {
		return nil
	}
	out := make(chan Size)
	go func() {
		defer close(out)
		for {
			select {
			case s, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- Size{Width: s.Width, Height: s.Height}:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
