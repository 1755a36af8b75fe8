package check

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Execer runs a command inside a running container and waits for it.
//
// It returns the exit code and the combined stdout and stderr. When timeout is
// positive and passes first, counted from the command's start (not from the
// call: waiting to start is not the command hanging), the implementation
// kills the command (and its descendants) and returns timedOut true. A non-nil err means the command could
// not be started (no such container, executable not found by the runtime, the
// shim is unreachable); a command that ran and failed is not an error.
type Execer interface {
	Exec(ctx context.Context, container string, cmd []string, timeout time.Duration) (exitCode int, output []byte, timedOut bool, err error)
}

// ExecOutcome is what one command run inside a container did.
type ExecOutcome struct {
	ExitCode int
	// Output is the combined output, capped at MaxOutput.
	Output string
	// TimedOut is set when the timeout passed and the command was killed.
	TimedOut bool
}

// ExecStartAllowance is how long past the timeout RunExec waits for an
// Execer that does not answer. The timeout is the command's own (R48): the
// runtime counts it from the process start and kills the command when it
// passes, as containerd's ExecSync does (the kubelet gives the runtime the
// timeout plus two minutes). Starting the command can take a while on a
// busy host or behind other execs in the same shim, and that wait must not
// turn a healthy container's probe into a timeout and a restart.
const ExecStartAllowance = 30 * time.Second

// RunExec runs cmd in container through e. The Execer kills the command
// when timeout (counted from the command's start) passes and reports
// TimedOut. RunExec itself waits at most timeout plus ExecStartAllowance
// (no limit beyond ctx when timeout is zero or less), even if e never
// answers: e runs in a goroutine that is abandoned at that deadline, which
// counts as TimedOut. err means the command could not be started, or ctx
// ended first.
func RunExec(ctx context.Context, e Execer, container string, cmd []string, timeout time.Duration) (ExecOutcome, error) {
	return runExec(ctx, e, container, cmd, timeout, ExecStartAllowance)
}

func runExec(ctx context.Context, e Execer, container string, cmd []string, timeout, allowance time.Duration) (ExecOutcome, error) {
	if len(cmd) == 0 {
		return ExecOutcome{}, errors.New("exec: empty command")
	}
	backstop := time.Duration(0)
	if timeout > 0 {
		backstop = timeout + allowance
	}
	runCtx, cancel := withOptionalTimeout(ctx, backstop)
	defer cancel()

	type reply struct {
		o   ExecOutcome
		err error
	}
	done := make(chan reply, 1)
	go func() {
		code, out, timedOut, err := e.Exec(runCtx, container, cmd, timeout)
		done <- reply{ExecOutcome{ExitCode: code, Output: capOutput(out), TimedOut: timedOut}, err}
	}()

	var r reply
	select {
	case r = <-done:
	case <-runCtx.Done():
		r.err = runCtx.Err()
	}
	switch {
	case ctx.Err() != nil:
		return ExecOutcome{}, fmt.Errorf("exec %q in %s: %w", cmd, container, ctx.Err())
	case r.o.TimedOut || (r.err != nil && errors.Is(runCtx.Err(), context.DeadlineExceeded)):
		return ExecOutcome{ExitCode: r.o.ExitCode, Output: r.o.Output, TimedOut: true}, nil
	case r.err != nil:
		return ExecOutcome{}, fmt.Errorf("exec %q in %s: %w", cmd, container, r.err)
	}
	return r.o, nil
}

// Exec is the exec check (R48): exit 0 is Success; any other exit code or a
// passing timeout is Failure. The output (capped at MaxOutput) is returned
// either way. If the command cannot be started, or ctx is cancelled, Exec
// returns Unknown with the error. It returns within timeout plus
// ExecStartAllowance (see RunExec).
func Exec(ctx context.Context, e Execer, container string, cmd []string, timeout time.Duration) (Result, string, error) {
	o, err := RunExec(ctx, e, container, cmd, timeout)
	switch {
	case err != nil:
		return Unknown, "", err
	case o.TimedOut:
		return Failure, fmt.Sprintf("command %q timed out after %s", cmd, timeout), nil
	case o.ExitCode != 0:
		return Failure, o.Output, nil
	}
	return Success, o.Output, nil
}

// withOptionalTimeout is context.WithTimeout, or a plain cancel when timeout
// is not positive.
func withOptionalTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, timeout)
}
