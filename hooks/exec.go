package hooks

import (
	"context"
	"fmt"
	"time"

	"github.com/podd-dev/podd/probes/check"
)

// execHandler runs a command inside the container (R53, as R48).
type execHandler struct {
	cmd    []string
	execer Execer
}

func (h execHandler) String() string { return fmt.Sprintf("exec %q", h.cmd) }

func (h execHandler) run(ctx context.Context, t Target, timeout time.Duration) (string, error) {
	o, err := check.RunExec(ctx, h.execer, t.ContainerID, h.cmd, timeout)
	switch {
	case err != nil:
		return "", err
	case o.TimedOut:
		return o.Output, fmt.Errorf("timed out after %s", timeout.Round(time.Millisecond))
	case o.ExitCode != 0:
		return o.Output, fmt.Errorf("exited with code %d: %q", o.ExitCode, o.Output)
	}
	return o.Output, nil
}
