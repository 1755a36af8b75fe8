package probes

import "time"

// Recorder takes every probe run (the daemon's metrics). Config leaves it
// nil to record nothing.
type Recorder interface {
	// ProbeRan records one run: probeType is "liveness", "readiness" or
	// "startup", result "successful", "failed" or "unknown" (the kubelet's
	// prober_probe_total labels).
	ProbeRan(probeType, result string, took time.Duration)
}

// recordRun hands one run to the manager's recorder.
func (m *Manager) recordRun(kind Kind, res Result, took time.Duration) {
	if m.recorder == nil {
		return
	}
	m.recorder.ProbeRan(probeTypeLabel(kind), resultLabel(res), took)
}

func probeTypeLabel(k Kind) string {
	switch k {
	case Startup:
		return "startup"
	case Liveness:
		return "liveness"
	case Readiness:
		return "readiness"
	}
	return "unknown"
}

func resultLabel(r Result) string {
	switch r {
	case Success:
		return "successful"
	case Failure:
		return "failed"
	}
	return "unknown"
}
