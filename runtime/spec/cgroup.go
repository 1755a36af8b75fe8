package spec

import "path"

// ContainerCgroup is the cgroup of container instance id (its shim key, or
// PauseID) under its pod's cgroup podCgroup (store.Layout.PodCgroup): the
// shim creates it there, and top reads the container's usage from it.
func ContainerCgroup(podCgroup, id string) string { return path.Join(podCgroup, id) }
