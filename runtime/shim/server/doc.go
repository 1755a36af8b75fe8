// Package server is podd-shim's side of the shim API: it keeps the pod's
// container table, starts containers and execs through libcontainer (the
// pod's namespace holder as a plain child, package holder), copies
// their output into CRI log files, reaps them, writes each exit record to disk
// before reporting it, and tears the pod's libcontainer state and cgroup down
// on shutdown.
//
// Reaping: the shim is a child subreaper and the parent of every container
// init (which its create child started and left to it) and exec process,
// and libct's Process.Wait (os.Process.Wait for the holder) reaps each of
// them.
// A process is registered as tracked while the start lock is held, and the
// orphan sweeper (run on SIGCHLD) takes that lock exclusively and reaps only
// zombie children nobody tracks, so no exit is ever stolen from its waiter.
package server
