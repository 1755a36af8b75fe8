package createchild

import (
	"os"

	"github.com/opencontainers/runc/libcontainer/configs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// BinaryName is the create child's executable, installed beside podd-shim.
const BinaryName = "podd-create"

// Arg is the create child's first argument; ReadyArg, its second, makes it
// a ready child: started ahead of its request, it first waits on its stdin,
// a socket, for one message carrying its stdio descriptors (SCM_RIGHTS,
// those the request sets, in Fd* order), then reads the request from it.
const (
	Arg      = "create-container"
	ReadyArg = "ready"
)

// The child's descriptors beyond 0 (the request), 1 (replies) and 2, for a
// child started with its request.
const (
	FdStdin = 3 + iota
	FdStdout
	FdStderr
	FdConsole
)

// Request is what the child reads on its stdin, as JSON: the container to
// create, as the shim built it.
type Request struct {
	// Root is libcontainer's state root, ID the container's.
	Root, ID string
	// Process is the init's, from the container's OCI spec; the rest of
	// the spec (its seccomp profile, mounts, devices) is in Config, not
	// encoded twice on the way of every start.
	Process *specs.Process
	// Config is the libcontainer config built from the spec.
	Config *configs.Config
	// Which of the stdio descriptors (Fd*) are given.
	Stdin, Stdout, Stderr, Console bool
	Width, Height                  uint16
	// Hold stops the init before it execs the user's program, as `runc
	// create`: it waits on libcontainer's exec fifo.
	Hold bool `json:",omitempty"`
}

// Reply is one line the child writes on its stdout: Created once
// libcontainer has created the container (from then on a failure leaves
// something to destroy), then either Pid or Err.
type Reply struct {
	Created bool   `json:",omitempty"`
	Pid     int    `json:",omitempty"`
	Err     string `json:",omitempty"`
	// CannotRun says that the executable is to blame (see CannotRunCause).
	CannotRun bool `json:",omitempty"`
}

// IsCreateChild reports whether this process is a create child.
func IsCreateChild() bool { return len(os.Args) > 1 && os.Args[1] == Arg }
