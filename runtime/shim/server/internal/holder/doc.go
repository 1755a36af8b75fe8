// Package holder starts a pod's namespace holder (podd-pause) as a plain
// child of the shim, without libcontainer: no re-exec of the shim as init,
// no rootfs, no mount namespace. A thread of the shim, locked and thrown
// away afterwards, enters the pinned network namespace, unshares the UTS
// and IPC namespaces, sets the hostname and the sysctls, drops its
// capability bounding set and sets no_new_privs; the holder is forked from
// that thread (with CLONE_NEWPID for a shared PID namespace) and so starts
// in all of it, as an unprivileged user with no capability, in its own
// cgroup (CLONE_INTO_CGROUP on cgroup v2; its pid written to each
// hierarchy's cgroup.procs on v1). Containers then join its namespaces by
// /proc/<pid>/ns paths, as they would a libcontainer pause's. A holder with
// a user namespace of its own is cloned into it and its new network, UTS,
// IPC and PID namespaces instead (userns.go).
package holder
