// Package podworker runs one pod: a goroutine that observes the pod's
// sandbox and containers, asks the pure planner what to do, and does it
// through the runtime (images, rootfs, shim), the network, probes and hooks.
// It makes no lifecycle decision of its own.
package podworker
