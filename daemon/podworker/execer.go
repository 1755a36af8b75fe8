package podworker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// maxProbeOutput caps what an exec probe or hook keeps of its output (R48).
const maxProbeOutput = 10 << 10

// shimExecer runs a command in a container instance through the pod's shim;
// it serves exec probes and exec hooks.
type shimExecer struct{ w *Worker }

func (w *Worker) execer() shimExecer { return shimExecer{w: w} }

// Exec runs cmd in the instance and returns its exit code and output.
func (e shimExecer) Exec(ctx context.Context, container string, cmd []string, timeout time.Duration) (int, []byte, bool, error) {
	cl := e.w.currentShim()
	if cl == nil {
		return 0, nil, false, fmt.Errorf("exec in container %q: no sandbox", container)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := cl.Exec(ctx)
	if err != nil {
		return 0, nil, false, fmt.Errorf("exec in container %q: %w", container, err)
	}
	start := &shimv1.ExecProcess{Container: container, Args: cmd, OutputLimit: maxProbeOutput}
	if timeout > 0 {
		start.TimeoutMs = timeout.Milliseconds()
	}
	if err := stream.Send(&shimv1.ExecRequest{Msg: &shimv1.ExecRequest_Start{Start: start}}); err != nil {
		return 0, nil, false, fmt.Errorf("exec in container %q: %w", container, err)
	}
	stream.CloseSend()
	var out []byte
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return 0, out, false, fmt.Errorf("exec in container %q: stream ended without an exit code", container)
		}
		if err != nil {
			return 0, out, false, fmt.Errorf("exec in container %q: %w", container, err)
		}
		switch m := resp.Msg.(type) {
		case *shimv1.ExecResponse_Stdout:
			out = append(out, m.Stdout...)
		case *shimv1.ExecResponse_Stderr:
			out = append(out, m.Stderr...)
		case *shimv1.ExecResponse_Exit:
			if len(out) > maxProbeOutput {
				out = out[:maxProbeOutput]
			}
			return int(m.Exit.GetExitCode()), out, m.Exit.GetTimedOut(), nil
		}
	}
}
