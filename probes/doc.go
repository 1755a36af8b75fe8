// Package probes runs a container's startup, liveness and readiness probes:
// one goroutine per (container instance, probe) runs its check every period,
// applies the success and failure thresholds, and reports each change of the
// thresholded state on a channel. The checks themselves live in probes/check.
//
// Life of one worker (R43–R49):
//
//	Add ──initialDelaySeconds──▶ [gate: startup succeeded?] ──▶ probe ◀─┐
//	                                                           │  periodSeconds
//	                                                           └─────────┘
//	  startup:   first Success ─▶ done (gate opens for liveness/readiness)
//	  startup/liveness: failureThreshold reached ─▶ on hold (done) until the
//	                    caller adds the next container instance
//	  readiness: keeps probing until removed
//
// Startup gating is done here, not by the caller: the caller adds all probes
// of a container instance when it starts, the startup probe first; liveness
// and readiness workers of that instance then wait until its startup probe
// has succeeded (R43). Initial states follow the kubelet: Startup Unknown,
// Liveness Success, Readiness Failure.
package probes
