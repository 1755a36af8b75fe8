// Command podd-create creates and starts one container for a podd-shim,
// which runs it with a request on its stdin (see package
// runtime/shim/createchild); libcontainer re-executes it as the container's
// init. It links nothing but what these need, so that both start fast.
package main

import (
	"fmt"
	"os"

	"github.com/podd-dev/podd/runtime/shim/createchild"
)

func init() {
	// Runs after package initialisation and before main: a re-executed
	// container init must not get any further.
	if createchild.IsInit() {
		createchild.Init()
	}
}

func main() {
	if !createchild.IsCreateChild() {
		fmt.Fprintf(os.Stderr, "%s is run by podd-shim, to create a container; it takes no other arguments\n", createchild.BinaryName)
		os.Exit(2)
	}
	createchild.Main()
}
