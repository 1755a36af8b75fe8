package check

// Result is the outcome of one check.
type Result int

const (
	// Unknown means the check could not be run; it carries no verdict on the
	// container. It is the zero value.
	Unknown Result = iota
	// Success means the check ran and the target is healthy.
	Success
	// Failure means the check ran and the target is unhealthy or timed out.
	Failure
)

// String returns "Success", "Failure" or "Unknown".
func (r Result) String() string {
	switch r {
	case Success:
		return "Success"
	case Failure:
		return "Failure"
	default:
		return "Unknown"
	}
}

// MaxOutput is how much of a command's output or a response body is kept
// (10 KiB, as the kubelet).
const MaxOutput = 10 << 10

func capOutput(b []byte) string {
	if len(b) > MaxOutput {
		b = b[:MaxOutput]
	}
	return string(b)
}
