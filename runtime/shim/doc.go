// Package shim is the daemon's side of podd-shim: it launches one shim per pod
// in its own session (through a spare shim started ahead, see Spares, when
// there is one), reconnects to a running shim after a daemon restart, and
// reads the exit records a shim leaves on disk. It also owns the layout of a
// shim's state directory, which the shim itself uses too. It never links
// libcontainer.
package shim
