// Package history numbers the recorded templates (revisions) of a
// workload, as the Deployment and DaemonSet controllers do: the current
// template's revision, a rollback bumping an old one, and the idle
// revisions beyond the history limit. It does no I/O.
package history
