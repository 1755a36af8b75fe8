// Package volume prepares a pod's volumes on the host (R92): emptyDir on
// disk or tmpfs, hostPath with its type checks, downwardAPI files. It
// returns where each volume lives, and removes them again with the pod.
// Per container instance it pins subPaths and typed hostPaths as fds bound
// onto private staging mounts, so runc never resolves a path a container
// can swap for a link (CVE-2021-25741).
package volume
