// Package libct wraps libcontainer for the shim: it turns a shim/v1
// ContainerConfig into a libcontainer config, creates and starts containers
// (in a short-lived child of the shim, see createchild.go), execs into,
// signals and destroys them, and removes the pod cgroup. It is the only
// package of podd that imports libcontainer, whose API changes between runc
// releases.
package libct
