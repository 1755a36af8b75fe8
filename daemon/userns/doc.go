// Package userns hands out the ID ranges of the user namespaces of podd's
// own pods (spec.hostUsers: false), as the kubelet's user namespace
// manager does: one block of IDs per pod, the same for UIDs and GIDs, from
// a configured range, never a block another pod holds.
package userns
