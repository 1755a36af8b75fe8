// Package fastexec starts a process in a running container without
// re-executing the Go runtime: C code that runs before it (a constructor
// in the shim binary, active only when the binary is started with the
// marker argument) reads a compact request, joins the container's cgroup
// and namespaces, forks into its PID namespace and sets up credentials,
// capabilities, no_new_privs and the seccomp program as libcontainer's
// setns init does (runc's nsexec.c and setns_init_linux.go give the order),
// then execs the command.
//
// The shim computes the request's template once per container (see
// package libct); each exec only adds its command.
package fastexec
