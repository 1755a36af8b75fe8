// Package libct wraps libcontainer for the shim: it turns a shim/v1
// ContainerConfig into a libcontainer config, creates and starts containers
// (in a short-lived child of the shim, podd-create: see createchild.go and
// package createchild), execs into, signals and destroys them, and removes
// the pod cgroup. With package createchild it is the only code of podd that
// imports libcontainer, whose API changes between runc releases.
package libct
