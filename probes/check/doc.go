// Package check runs one health check of a container (exec, httpGet,
// tcpSocket, grpc) and reports Success, Failure or Unknown with its output; it
// knows nothing of schedules, thresholds or the daemon.
//
// Every checker returns (Result, output, err); HTTPGet adds a warning string
// for a redirect it did not follow. A non-nil err means the check
// could not be run at all (bad input, the exec could not start, the caller's
// context was cancelled) and always comes with Unknown; Failure means the check
// ran and the target answered badly or not in time.
package check
