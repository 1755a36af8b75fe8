// Package cni runs CNI plugin chains through libcni for podd: it loads (or
// writes podd's default) network configuration, and does ADD, CHECK and an
// idempotent DEL with a per-daemon result cache, plus garbage collection of
// cached attachments that belong to no live sandbox.
package cni
