package shim

import (
	"os/exec"

	"github.com/podd-dev/podd/internal/procwait"
)

// waitCmd waits for cmd, a started child, to exit and reaps it, without
// holding an OS thread while it runs: a daemon with 200 pods held 200
// threads for its shims (each with its stacks, some 50 KiB; issue 13).
func waitCmd(cmd *exec.Cmd) error {
	procwait.AwaitExit(cmd.Process.Pid)
	return cmd.Wait()
}
