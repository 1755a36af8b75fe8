// Command podd-shim is the per-pod shim: the parent of the pod's containers.
// It serves the shim API over ttrpc on <state-dir>/ttrpc.sock, runs
// containers through libcontainer, writes their CRI logs and exit records,
// and survives daemon restarts. It creates and starts each container through podd-create,
// installed beside it (cmd/podd-create); an exec runs it as the exec
// helper, whose C code sets the process up and execs it before the Go
// runtime starts (runtime/shim/server/internal/fastexec).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/podd-dev/podd/runtime/shim/server"
)

func main() {
	args := os.Args[1:]
	var opts server.Options
	if server.IsSpare() {
		// Started before its pod: blocks until the daemon binds it.
		args, opts.SpareStatus = server.AwaitBinding()
	}
	flag.StringVar(&opts.PodUID, "pod-uid", "", "uid of the pod this shim runs")
	flag.StringVar(&opts.StateDir, "state-dir", "", "the pod's run directory, <run-root>/pods/<uid>")
	flag.StringVar(&opts.CgroupParent, "cgroup-parent", "", "the pod cgroup, e.g. /podd/pod<uid>")
	flag.StringVar(&opts.LogLevel, "log-level", "info", "debug, info, warn or error")
	flag.Int64Var(&opts.LogRotation.MaxSize, "log-max-size", 0, "rotate a container log before it passes this many bytes (0: never)")
	flag.IntVar(&opts.LogRotation.MaxFiles, "log-max-files", 5, "log files kept per container, the live one included")
	flag.Int64Var(&opts.PodPidsLimit, "pod-pids-limit", 0, "pids.max of the pod cgroup (-1: no limit, 0: leave it alone)")
	_ = flag.CommandLine.Parse(args) // flag.ExitOnError
	if err := server.Main(opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
