// Package cronjob is the CronJob controller as a pure function: (CronJob,
// its Jobs, now) → the Job to start, Jobs to delete, the CronJob's status
// and when to look again. It does no I/O.
package cronjob
