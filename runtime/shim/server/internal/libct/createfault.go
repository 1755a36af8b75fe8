//go:build !podd_createfault

package libct

// createFault is a no-op outside the fault-injection build (see
// createfault_on.go): root tests build a shim with it to kill or stall the
// create child at each step.
func createFault(string, string, int) {}
