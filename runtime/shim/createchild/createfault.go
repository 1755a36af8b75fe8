//go:build !podd_createfault

package createchild

// createFault is a no-op outside the fault-injection build (see
// createfault_on.go): root tests build a podd-create with it to kill or stall the
// create child at each step.
func createFault(string, string, int) {}
