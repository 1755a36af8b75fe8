// Package libct wraps libcontainer for the shim: it turns a shim/v1
// ContainerConfig into a libcontainer config, creates, starts, execs into,
// signals and destroys containers, and removes the pod cgroup. It is the only
// package of podd that imports libcontainer, whose API changes between runc
// releases.
package libct
