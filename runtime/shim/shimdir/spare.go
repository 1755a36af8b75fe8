package shimdir

// A spare is a podd-shim started before any pod needs it, so that a pod's
// launch does not wait for the exec and the Go runtime's start (issue 13).
// It runs as "podd-shim --spare <room>" with:
//
//   - fd 0 the read end of a pipe whose write end only the daemon holds;
//     the daemon writes SparePlaced there once the spare is in its cgroup
//     (only then does it start its create child), and binds the spare by
//     writing the shim's arguments there as
//     one JSON array of strings and closing it. EOF with nothing read (the
//     daemon dropped the spare, died or was killed) makes the spare exit 0
//     at once, so no spare outlives its daemon;
//   - fds 1 and 2 /dev/null until it is bound, then the pod's shim log;
//   - fd 3 the write end of a status pipe, on which it writes SpareWaiting
//     once it waits for its arguments, SpareBound once it has read them
//     (from then on it is that pod's shim), and SpareServing once it
//     serves, then closes it.
//
// A bound spare rewrites its command line, in place over the room
// argument, to the one an exec'd shim of the pod has, so that whatever
// finds shims by their command line (Kill, the daemon's GC, ps) finds it.
const (
	// SpareArg is podd-shim's first argument when it starts as a spare.
	SpareArg = "--spare"
	// SpareRoom is the length of the spare's second argument, which only
	// holds room for the command line it takes once bound.
	SpareRoom = 2048
	// SpareStatusFd is the spare's status pipe.
	SpareStatusFd = 3

	SpareWaiting = 'w'
	SpareBound   = 'b'
	SpareServing = 's'

	// SparePlaced is the first byte on a spare's stdin: the daemon has
	// moved it into its cgroup, so what it forks from then on (the
	// create child of its pod's first container) is there too. A space,
	// which a spare from before SparePlaced reads as part of its JSON
	// arguments.
	SparePlaced = ' '
)
