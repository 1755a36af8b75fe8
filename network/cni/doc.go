// Package cni runs CNI plugin chains through libcni for podd: it loads (or
// writes podd's default) network configuration, and does ADD, CHECK and an
// idempotent DEL with a per-daemon result cache, and finds what plugins
// leave on the host (cached results, host-local leases, the bridge
// plugin's masquerade rules) so that the daemon can release it.
package cni
