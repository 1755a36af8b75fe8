// Package spec turns a core/v1 Pod and one of its containers into the
// shim's ContainerConfig (and the pause's), applying R90's command, env and
// user rules, R94's namespaces, mounts, resources and security settings.
// It does no I/O beyond reading the image's /etc/passwd and /etc/group: a
// subPath is bound as runtime/volume staged it.
package spec
