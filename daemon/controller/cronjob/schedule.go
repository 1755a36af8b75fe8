package cronjob

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	batchv1 "k8s.io/api/batch/v1"
)

// MaxMissed is how many missed start times the controller reports as too
// many, as the Kubernetes CronJob controller does (it still starts the most
// recent one only).
const MaxMissed = 100

// Schedule parses a CronJob's schedule (five fields or a descriptor such as
// @hourly) in its timeZone (the daemon's local zone when unset).
func Schedule(cj *batchv1.CronJob) (cron.Schedule, error) {
	spec := cj.Spec.Schedule
	if tz := cj.Spec.TimeZone; tz != nil && *tz != "" {
		if strings.Contains(spec, "TZ=") {
			return nil, fmt.Errorf("schedule %q: TZ and CRON_TZ are not allowed with timeZone", spec)
		}
		spec = "CRON_TZ=" + *tz + " " + spec
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", cj.Spec.Schedule, err)
	}
	return s, nil
}

// mostRecent is the latest start time in (earliest, now], or zero, and
// how many start times that interval holds (capped a little past
// MaxMissed: the count only says whether there were too many).
func mostRecent(s cron.Schedule, earliest, now time.Time) (time.Time, int) {
	first := s.Next(earliest)
	if first.After(now) {
		return time.Time{}, 0
	}
	// Walk from a point close enough to now that few start times remain,
	// found by widening the window until it holds one.
	from, missed := earliest, 0
	if second := s.Next(first); !second.After(now) {
		if n := int(now.Sub(first) / max(second.Sub(first), time.Second)); n > MaxMissed {
			missed = n
			w := second.Sub(first)
			for s.Next(now.Add(-w)).After(now) {
				w *= 2
			}
			from = now.Add(-w)
		}
	}
	var last time.Time
	for t := s.Next(from); !t.After(now); t = s.Next(t) {
		last = t
		if from.Equal(earliest) {
			missed++
		}
	}
	return last, missed
}
