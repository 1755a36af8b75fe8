package createchild

import "strings"

// CannotRunCause finds, in a failed start's error, libcontainer's report of
// an executable lookup that failed inside the container (sent back from the
// init as text): the cause as the kubelet shows it, from `exec: "` on.
func CannotRunCause(err error) (string, bool) {
	msg := err.Error()
	i := strings.Index(msg, `exec: "`)
	if i < 0 {
		return "", false
	}
	return msg[i:], true
}
