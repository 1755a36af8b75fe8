package shimdir

import (
	"errors"
	"syscall"
	"time"
)

// rmdirWaits are the pauses between attempts to remove a cgroup the kernel
// still calls busy: its last tasks are leaving (a killed process is gone
// from cgroup.procs a moment before the cgroup is empty). About 1 s in all,
// as runc and containerd allow.
var rmdirWaits = []time.Duration{
	10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond,
	160 * time.Millisecond, 320 * time.Millisecond, 370 * time.Millisecond,
}

// removeCgroupDir removes one cgroup directory whose children are gone,
// waiting while it is busy; already gone is success.
func removeCgroupDir(dir string) error {
	return retryBusy(func() error { return syscall.Rmdir(dir) }, rmdirWaits, time.Sleep)
}

// retryBusy calls rm until it succeeds or reports the path gone, retrying
// after each of waits only while it fails with EBUSY (or is interrupted).
func retryBusy(rm func() error, waits []time.Duration, sleep func(time.Duration)) error {
	for i := 0; ; i++ {
		err := rm()
		switch {
		case err == nil, errors.Is(err, syscall.ENOENT):
			return nil
		case !errors.Is(err, syscall.EBUSY) && !errors.Is(err, syscall.EINTR), i == len(waits):
			return err
		}
		sleep(waits[i])
	}
}
