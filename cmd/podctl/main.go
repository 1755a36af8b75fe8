// Command podctl is podd's kubectl-like CLI: it talks to the podd daemon
// over its unix socket (gRPC PodService) to apply, list, describe, log,
// exec into and delete pods, and to manage images.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/podd-dev/podd/cmd/podctl/internal/podclient"
	"github.com/podd-dev/podd/cmd/podctl/internal/verb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes podctl with args and returns its exit code.
func run(ctx context.Context, args []string, in io.Reader, out, errOut io.Writer) int {
	a := &app{streams: verb.Streams{In: in, Out: out, ErrOut: errOut}}
	defer a.close()
	root := newRootCommand(a)
	root.SetArgs(args)
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	return exitCode(root.ExecuteContext(ctx), ctx, errOut)
}

// exitCode prints err as kubectl would and returns the exit code for it.
func exitCode(err error, ctx context.Context, errOut io.Writer) int {
	var exitErr *verb.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exitErr):
		if exitErr.Message != "" {
			fmt.Fprintln(errOut, exitErr.Message)
		}
		return exitErr.Code
	case ctx.Err() != nil:
		// Interrupted: say nothing more, as kubectl does.
		return 130
	}
	fmt.Fprintln(errOut, podclient.FormatError(err))
	return 1
}
