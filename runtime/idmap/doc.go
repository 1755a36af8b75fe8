// Package idmap is what the daemon needs of user namespaces: a pod's ID
// mappings, a user namespace with them (to idmap a mount with), idmapped
// bind mounts, and the probe of whether this kernel makes them. Root only.
package idmap
