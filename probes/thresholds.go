package probes

import (
	"time"

	corev1 "k8s.io/api/core/v1"
)

// timing is a probe's schedule and thresholds with the R44 defaults applied.
type timing struct {
	initialDelay time.Duration
	period       time.Duration
	timeout      time.Duration
	success      int
	failure      int
}

func timingOf(p *corev1.Probe) timing {
	orDefault := func(v, def int32) int32 {
		if v < 1 {
			return def
		}
		return v
	}
	return timing{
		initialDelay: time.Duration(max(p.InitialDelaySeconds, 0)) * time.Second,
		period:       time.Duration(orDefault(p.PeriodSeconds, 10)) * time.Second,
		timeout:      time.Duration(orDefault(p.TimeoutSeconds, 1)) * time.Second,
		success:      int(orDefault(p.SuccessThreshold, 1)),
		failure:      int(orDefault(p.FailureThreshold, 3)),
	}
}

// streak counts consecutive equal results (R45).
type streak struct {
	last Result
	run  int
}

// observe records r and reports whether a threshold is reached: the run of
// equal results is at least success (for Success) or failure (for Failure).
// Unknown is ignored: it changes nothing and resets no counter.
func (s *streak) observe(r Result, t timing) bool {
	switch r {
	case Success, Failure:
	default:
		return false
	}
	if r == s.last {
		s.run++
	} else {
		s.last, s.run = r, 1
	}
	if r == Success {
		return s.run >= t.success
	}
	return s.run >= t.failure
}
