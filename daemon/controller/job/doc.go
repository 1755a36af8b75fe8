// Package job is the Job controller as a pure function: (Job, its pods,
// now) → pods to create and delete, and the Job's status. It does no I/O.
package job
