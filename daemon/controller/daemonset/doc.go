// Package daemonset is the DaemonSet controller for one node as a pure
// function: (DaemonSet, this node, its pods, now) → pods to create and
// delete, and the DaemonSet's status. It does no I/O.
package daemonset
