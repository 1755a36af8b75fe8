// Package shimdir is what the daemon and podd-shim share of a pod's shim:
// the layout of its state directory, the exit records kept there, the
// handshake of a spare shim, the Go runtime settings a shim runs with, the
// pod cgroup's moves and removal, and the kill of last resort. podd-shim
// links it; it links neither gRPC nor libcontainer.
package shimdir
