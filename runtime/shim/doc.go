// Package shim is the daemon's side of podd-shim: it launches one shim per pod
// in its own session (through a spare shim started ahead, see Spares, when
// there is one), reconnects to a running shim after a daemon restart, and
// reads the exit records a shim leaves on disk (whose layout, like the rest
// of what the daemon and the shim share, is package shimdir's). It never
// links libcontainer.
package shim
