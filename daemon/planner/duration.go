package planner

import "time"

// MaxSeconds is the longest period podd honours for a count of seconds from
// a manifest or a request (grace periods, deadlines): 100 years. Larger
// values mean "practically forever"; clamping them keeps every time
// computation from overflowing into a negative duration.
const MaxSeconds = 100 * 365 * 24 * 60 * 60

// Seconds converts a count of seconds to a duration, clamped to
// [0, MaxSeconds].
func Seconds(n int64) time.Duration {
	return time.Duration(min(max(n, 0), MaxSeconds)) * time.Second
}
