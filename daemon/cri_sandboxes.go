package daemon

import (
	"context"
	"fmt"

	"github.com/podd-dev/podd/daemon/cri"
	"github.com/podd-dev/podd/daemon/sandbox"
	"github.com/podd-dev/podd/network"
)

// openCRISandboxes restores the sandboxes CRI clients made, through the
// same sandbox service as the pod workers'.
func (d *Daemon) openCRISandboxes() error {
	deps := d.deps
	svc := sandbox.New(sandbox.Deps{
		Network: deps.Network, Shims: deps.Shims, ShimBinary: deps.ShimBinary, PauseBinary: deps.PauseBinary,
		ShimLogLevel: deps.ShimLogLevel, LogRotation: deps.LogRotation, PodPidsLimit: deps.PodPidsLimit,
		Security: deps.Security, NodeIP: deps.NodeIP,
	})
	r, err := sandbox.OpenRegistry(d.ctx, svc, deps.Layout, deps.ResolvConf)
	if err != nil {
		return fmt.Errorf("restore CRI sandboxes: %w", err)
	}
	d.criSandboxes = r
	c, err := sandbox.OpenContainers(d.ctx, r, deps.Layout, d.deps.Images, deps.Rootfs)
	if err != nil {
		return err
	}
	d.criContainers = c
	return nil
}

// criSandboxes is the sandbox registry as the CRI edge uses it; stopping
// or removing a sandbox stops or removes its containers first, as
// containerd does.
type criSandboxes struct {
	r *sandbox.Registry
	c *sandbox.Containers
	// warm is called before a sandbox is made (Daemon.warmMigrations).
	warm func()
}

func (c criSandboxes) Run(ctx context.Context, sp cri.SandboxSpec) (cri.Sandbox, error) {
	c.warm()
	spec := sandbox.Spec{
		Name: sp.Name, Namespace: sp.Namespace, UID: sp.UID, Attempt: sp.Attempt, Hostname: sp.Hostname,
		HostNetwork: sp.HostNetwork, HostPID: sp.HostPID, HostIPC: sp.HostIPC, SharePID: sp.SharePID, UserNS: sp.UserNS,
		Sysctls: sp.Sysctls, CgroupParent: sp.CgroupParent, Labels: sp.Labels, Annotations: sp.Annotations,
		LogDirectory: sp.LogDirectory, OOMScoreAdj: sp.OOMScoreAdj, Client: sp.Config,
	}
	if sp.DNS != nil {
		spec.DNS = &sandbox.DNS{Servers: sp.DNS.Servers, Searches: sp.DNS.Searches, Options: sp.DNS.Options}
	}
	for _, p := range sp.Ports {
		spec.Ports = append(spec.Ports, network.PortMapping{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: p.Protocol, HostIP: p.HostIP})
	}
	rec, err := c.r.Run(ctx, spec)
	if err != nil {
		return cri.Sandbox{}, err
	}
	return criSandbox(rec), nil
}

func (c criSandboxes) Stop(ctx context.Context, id string) error {
	if err := c.c.StopSandbox(ctx, id); err != nil {
		return fmt.Errorf("stop sandbox %s: %w", id, err)
	}
	return c.r.Stop(ctx, id)
}

func (c criSandboxes) Remove(ctx context.Context, id string) error {
	if err := c.c.RemoveSandbox(ctx, id); err != nil {
		return fmt.Errorf("remove sandbox %s: %w", id, err)
	}
	return c.r.Remove(ctx, id)
}

func (c criSandboxes) Get(ctx context.Context, id string) (cri.Sandbox, error) {
	rec, err := c.r.Get(ctx, id)
	if err != nil {
		return cri.Sandbox{}, err
	}
	return criSandbox(rec), nil
}

func (c criSandboxes) List(ctx context.Context) ([]cri.Sandbox, error) {
	recs := c.r.List(ctx)
	out := make([]cri.Sandbox, len(recs))
	for i, rec := range recs {
		out[i] = criSandbox(rec)
	}
	return out, nil
}

func criSandbox(rec sandbox.Record) cri.Sandbox {
	return cri.Sandbox{
		ID: rec.ID, Ready: rec.State == sandbox.Ready, CreatedAt: rec.CreatedAt,
		NetnsPath: rec.NetnsPath, Cgroup: rec.PodCgroup, IP: rec.IP, IPs: rec.IPs, Config: rec.Spec.Client,
	}
}
