package daemon

import (
	"context"

	"github.com/podd-dev/podd/daemon/cri"
	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/network/cni"
	"github.com/podd-dev/podd/network/netns"
	"github.com/podd-dev/podd/runtime/cgroupusage"
	"github.com/podd-dev/podd/runtime/diskusage"
	"github.com/podd-dev/podd/runtime/rootfs"
)

// criUsage reads what CRI containers and sandboxes use: the same cgroup
// reader as podctl top, their overlay upper dirs and their netns.
type criUsage struct {
	cgroups CgroupReader
	layout  store.Layout
}

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
		out[i] = cri.Interface{Name: f.Name, RxBytes: f.RxBytes, RxErrors: f.RxErrors, TxBytes: f.TxBytes, TxErrors: f.TxErrors,
			Default: f.Name == cni.DefaultIfName}
	}
	return out, nil
}
