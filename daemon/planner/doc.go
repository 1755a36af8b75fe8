// Package planner is the pure heart of podd's pod lifecycle: Plan takes one pod, what
// the daemon observed of its sandbox and containers, the planner's own history and the
// time, and returns the actions to take now, the pod's next status, events and when to
// call again. It does no I/O, reads no clock and starts no goroutine; the pod worker
// executes the actions and feeds the results back (spec/pod-lifecycle.md R3–R81).
//
// One round of the worker:
//
//	out := planner.Plan(in)           // decide
//	run out.Actions in order           // act (kills may run in the background)
//	record out.Events, store out.Status and out.History
//	in.Pod.Status, in.History = out.Status, out.History
//	observe again; call Plan on any change, or at out.NextWake
package planner
