package libct

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

// initGOMAXPROCS is the GOMAXPROCS of the inits libcontainer re-executes.
// An init runs one goroutine's worth of setup and then execs the container's
// program; with a P per CPU its runtime starts threads and GC workers it
// never uses, on every container start. (Execs do not run a Go init.)
const initGOMAXPROCS = "1"

// limitInitProcs makes libcontainer start inits with initGOMAXPROCS: it
// hands each init the shim's GOMAXPROCS variable, which the shim's own
// runtime read at start-up and never reads again. A GOMAXPROCS given to the
// shim is kept.
func limitInitProcs() {
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		os.Setenv("GOMAXPROCS", initGOMAXPROCS)
	}
}
