// Package ownership makes sure one podd at a time uses a state root, and
// that the host resources a daemon uses (cgroup parent, run root, socket,
// network, bridge, subnet, IPAM dir) belong to exactly one root until that
// daemon gives them back: a second daemon that would share one refuses to
// start, naming the owner.
package ownership
