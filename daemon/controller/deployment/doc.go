// Package deployment is the Deployment controller as a pure function:
// (Deployment, its revisions, its pods, now) → revisions to record, pods
// to create and delete, and the Deployment's status. It does no I/O.
package deployment
