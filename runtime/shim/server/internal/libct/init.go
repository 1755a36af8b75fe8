package libct

import "os"

// initGOMAXPROCS is the GOMAXPROCS of the create children and the inits
// libcontainer re-executes. An init runs one goroutine's worth of setup and
// then execs the container's program; with a P per CPU its runtime starts
// threads and GC workers it never uses, on every container start. (Execs
// do not run a Go init.)
const initGOMAXPROCS = "1"

// limitInitProcs makes create children and the inits libcontainer starts
// run with initGOMAXPROCS: a create child inherits the shim's environment
// and libcontainer hands each init the child's GOMAXPROCS variable, which
// the shim's own runtime read at start-up and never reads again. A
// GOMAXPROCS given to the shim is kept.
func limitInitProcs() {
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		os.Setenv("GOMAXPROCS", initGOMAXPROCS)
	}
}
