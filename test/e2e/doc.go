// Package e2e holds podd's end-to-end tests: each starts the real podd
// binary on temporary roots with its own CNI bridge, imports a busybox image
// built from the host's busybox-static, and drives the daemon through podctl
// and the gRPC API with real containers. They run as root (PODD_TEST_ROOT=1).
package e2e
