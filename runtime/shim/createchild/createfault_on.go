//go:build podd_createfault

package createchild

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// createFault acts on the fault that the file create-fault in the shim's
// state directory (the parent of root) names, when the create child
// reaches step: "<step> exit" exits 1 there without a reply, "<step> kill"
// SIGKILLs the child, "<step> stall" blocks it for good, and
// "<step> kill-init" SIGKILLs the container's init pid and waits until it
// has ended. The child writes its pid to create-child.pid first.
func createFault(root, step string, initPid int) {
	dir := filepath.Dir(root)
	_ = os.WriteFile(filepath.Join(dir, "create-child.pid"), []byte(strconv.Itoa(os.Getpid())), 0o600)
	b, err := os.ReadFile(filepath.Join(dir, "create-fault"))
	if err != nil {
		return
	}
	at, what, _ := strings.Cut(strings.TrimSpace(string(b)), " ")
	if at != step {
		return
	}
	switch what {
	case "exit":
		os.Exit(1)
	case "kill":
		_ = unix.Kill(os.Getpid(), unix.SIGKILL)
		select {}
	case "stall":
		select {}
	case "kill-init":
		_ = unix.Kill(initPid, unix.SIGKILL)
		var info unix.Siginfo
		_ = unix.Waitid(unix.P_PID, initPid, &info, unix.WEXITED|unix.WNOWAIT, nil)
	}
}
