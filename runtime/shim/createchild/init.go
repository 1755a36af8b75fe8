package createchild

import (
	"os"

	"github.com/opencontainers/runc/libcontainer"
	// The nsenter constructor joins namespaces before the Go runtime starts
	// when this binary is re-executed as a container's init.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// IsInit reports whether this process was re-executed by libcontainer to
// become a container process.
func IsInit() bool { return len(os.Args) > 1 && os.Args[1] == "init" }

// Init is libcontainer's container init. It never returns.
func Init() { libcontainer.Init() }
