package daemon

import (
	"context"

	"github.com/podd-dev/podd/daemon/cri"
	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/network/cni"
	"github.com/podd-dev/podd/network/netns"
	"github.com/podd-dev/podd/runtime/cgroupusage"
	"github.com/podd-dev/podd/runtime/diskusage"
	"github.com/podd-dev/podd/runtime/procusage"
	"github.com/podd-dev/podd/runtime/rootfs"
)

// criUsage reads what CRI containers and sandboxes use: the same cgroup
// reader as podctl top, their overlay upper dirs and their netns; and for
// the metrics every cgroup counter, /proc and sysfs.
type criUsage struct {
	cgroups CgroupReader
	layout  store.Layout
	stats   cgroupusage.Reader
	procs   procusage.Reader
}

func (u criUsage) CgroupStats(path string) (cgroupusage.Stats, error) { return u.stats.Stats(path) }

func (u criUsage) Processes(pids []int) procusage.Usage { return u.procs.Read(pids) }

func (u criUsage) MaxOpenFiles(pid int) (uint64, error) { return u.procs.MaxOpenFiles(pid) }

func (u criUsage) WritableLayerFS(id string) (diskusage.FS, error) {
	return diskusage.Filesystem(rootfs.UpperDir(u.layout.CRIContainerRootfsDir(id)), "")
}

func (criUsage) DeviceName(major, minor uint64) string { return diskusage.DeviceName("", major, minor) }

func (u criUsage) Cgroup(path string) (cgroupusage.Sample, error) { return u.cgroups.Read(path) }

func (u criUsage) WritableLayer(ctx context.Context, id string) (diskusage.Usage, error) {
	return diskusage.Walk(ctx, rootfs.UpperDir(u.layout.CRIContainerRootfsDir(id)))
}

func (criUsage) Interfaces(path string) ([]cri.Interface, error) {
	ifs, err := netns.Interfaces(path)
	if err != nil {
		return nil, err
	}
	out := make([]cri.Interface, len(ifs))
	for i, f := range ifs {
		out[i] = cri.Interface{
			Name: f.Name, RxBytes: f.RxBytes, RxPackets: f.RxPackets, RxErrors: f.RxErrors, RxDropped: f.RxDropped,
			TxBytes: f.TxBytes, TxPackets: f.TxPackets, TxErrors: f.TxErrors, TxDropped: f.TxDropped,
			Default: f.Name == cni.DefaultIfName,
		}
	}
	return out, nil
}
