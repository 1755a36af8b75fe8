// Package fastexec starts processes in a running container without
// re-executing the Go runtime. A container's helper (the shim binary
// started with the marker argument, whose C constructor runs before the
// Go runtime) reads a set-up request, joins the container's cgroup and
// namespaces once, and then forks each command the shim sends into its PID
// namespace, where the child sets up credentials, capabilities,
// no_new_privs and the seccomp program as libcontainer's setns init does
// (runc's nsexec.c and setns_init_linux.go give the order) and execs it.
// An exec thus costs one fork of a small process, not a process start,
// a dynamic load and the joining of every namespace.
//
// The shim computes the set-up once per container (see package libct);
// each exec sends only its command and standard I/O.
package fastexec
