package hooks

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Execer runs a command inside a running container and waits for it; timeout
// zero means no limit beyond ctx. err means the command could not be started.
// It has the same method as probes' Execer, so one implementation serves both.
type Execer interface {
	Exec(ctx context.Context, container string, cmd []string, timeout time.Duration) (exitCode int, output []byte, timedOut bool, err error)
}

// Target tells a hook where its container is.
type Target struct {
	// PodIP is the default host of an httpGet handler.
	PodIP string
	// HostNetwork makes the default host 127.0.0.1 instead of PodIP.
	HostNetwork bool
	// ContainerPorts resolve a handler port given by name.
	ContainerPorts []corev1.ContainerPort
	// ContainerID is the runtime id exec handlers run in (passed to Execer).
	ContainerID string
}

// handler is one kind of lifecycle action; String names it in errors.
type handler interface {
	fmt.Stringer
	run(ctx context.Context, t Target, timeout time.Duration) (output string, err error)
}

// Run runs lifecycle handler h of a container and waits for it, at most until
// deadline (a zero deadline means no limit beyond ctx). exec runs through
// execer inside the container, httpGet goes to the pod IP by default and
// fails on a status outside 200–399, sleep waits its seconds, tcpSocket does
// nothing.
//
// output is the command's output or the response body (at most 10 KiB). A
// non-nil err names the handler and the cause, ready for a FailedPostStartHook
// or FailedPreStopHook event; when the deadline or ctx cut the handler short,
// errors.Is(err, context.DeadlineExceeded) (or context.Canceled) holds.
func Run(ctx context.Context, h *corev1.LifecycleHandler, target Target, execer Execer, deadline time.Time) (output string, err error) {
	hd, err := handlerFor(h, target, execer)
	if err != nil {
		return "", err
	}
	var timeout time.Duration
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
		if timeout = time.Until(deadline); timeout <= 0 {
			return "", fmt.Errorf("%s hook: %w", hd, context.DeadlineExceeded)
		}
	}
	out, err := hd.run(ctx, target, timeout)
	if err == nil {
		return out, nil
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w (%w)", err, cerr)
	}
	return out, fmt.Errorf("%s hook: %w", hd, err)
}

func handlerFor(h *corev1.LifecycleHandler, t Target, execer Execer) (handler, error) {
	switch {
	case h == nil:
		return nil, errors.New("lifecycle hook: no handler")
	case h.Exec != nil:
		if execer == nil {
			return nil, fmt.Errorf("exec hook %q: no execer for the container", h.Exec.Command)
		}
		if len(h.Exec.Command) == 0 {
			return nil, errors.New("exec hook: empty command")
		}
		return execHandler{cmd: h.Exec.Command, execer: execer}, nil
	case h.HTTPGet != nil:
		return newHTTPGetHandler(h.HTTPGet, t)
	case h.Sleep != nil:
		return sleepHandler{d: time.Duration(h.Sleep.Seconds) * time.Second}, nil
	case h.TCPSocket != nil:
		return tcpSocketHandler{}, nil
	default:
		return nil, errors.New("lifecycle hook: handler has no action")
	}
}
