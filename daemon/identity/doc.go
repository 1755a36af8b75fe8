// Package identity names what one podd owns on the host from its --root:
// its cgroup parent and its default network (name, bridge, subnets), so
// that daemons with different roots never pick the same ones. It does no
// I/O beyond resolving the root's path.
package identity
