// Package createchild is podd-create, the lean binary a shim runs to
// create and start one container: it reads a Request, creates the container
// through libcontainer, starts its init and exits, leaving the init to the
// shim (its child subreaper). libcontainer re-executes the same binary as
// the container's init (Init).
//
// It is a binary of its own, not the shim run again, because both
// processes are on the way of every container start and a Go program's
// start costs in proportion to what it links: podd-create links
// libcontainer and nothing of the shim's API (protobuf, ttrpc, gRPC). The
// shim builds the container's OCI spec and libcontainer config; the child
// only carries them out. With package libct it is the only code of podd
// that imports libcontainer.
package createchild
