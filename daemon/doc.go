// Package daemon is podd's brain: it serves the pod API on a unix socket,
// accepts pods (through the API or the static manifest directory), persists
// them, and runs one worker per pod that drives the pod's sandbox and
// containers through the planner, the runtime and the network.
package daemon
