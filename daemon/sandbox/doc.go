// Package sandbox makes and releases pod sandboxes on the host (pinned
// netns with its CNI attachment, the pod's shim and its pause holder) for
// both of podd's brains: the pod workers and the CRI server. Registry keeps
// the sandboxes a CRI client owns, persisted and restored.
package sandbox
