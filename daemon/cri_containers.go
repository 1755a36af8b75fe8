package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/daemon/cri"
	"github.com/podd-dev/podd/daemon/sandbox"
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// criContainers is the CRI container registry as the CRI edge (and its
// streaming server) uses it.
type criContainers struct{ c *sandbox.Containers }

func (c criContainers) Create(ctx context.Context, cs cri.ContainerSpec) (string, error) {
	return c.c.Create(ctx, sandbox.ContainerSpec{
		SandboxID: cs.SandboxID, Name: cs.Name, Attempt: cs.Attempt, Image: cs.Image,
		Labels: cs.Labels, Annotations: cs.Annotations, LogPath: cs.LogPath, Client: cs.Config, Process: cs.Process,
	})
}

func (c criContainers) Start(ctx context.Context, id string) error { return c.c.Start(ctx, id) }
func (c criContainers) Remove(ctx context.Context, id string) error {
	return c.c.Remove(ctx, id)
}

func (c criContainers) Stop(ctx context.Context, id string, timeout time.Duration) error {
	return c.c.Stop(ctx, id, timeout)
}

func (c criContainers) Update(ctx context.Context, id string, res *shimv1.Resources, config []byte) error {
	return c.c.Update(ctx, id, res, config)
}

func (c criContainers) ReopenLog(ctx context.Context, id string) error {
	return c.c.ReopenLog(ctx, id)
}

func (c criContainers) Get(ctx context.Context, id string) (cri.Container, error) {
	st, err := c.c.Get(ctx, id)
	if err != nil {
		return cri.Container{}, err
	}
	out := criContainer(st)
	out.User = containerUser(st.Config)
	return out, nil
}

// containerUser is the identity in a container's shim config (nil when
// the config does not read).
func containerUser(config []byte) *runtimeapi.LinuxContainerUser {
	cfg := &shimv1.ContainerConfig{}
	if err := proto.Unmarshal(config, cfg); err != nil || cfg.GetUser() == nil {
		return nil
	}
	u := cfg.GetUser()
	out := &runtimeapi.LinuxContainerUser{Uid: int64(u.GetUid()), Gid: int64(u.GetGid())}
	for _, g := range u.GetAdditionalGids() {
		out.SupplementalGroups = append(out.SupplementalGroups, int64(g))
	}
	return out
}

func (c criContainers) List(ctx context.Context) ([]cri.Container, error) {
	sts := c.c.List(ctx)
	out := make([]cri.Container, len(sts))
	for i, st := range sts {
		out[i] = criContainer(st)
	}
	return out, nil
}

func (c criContainers) Exec(ctx context.Context, id string, opts cri.ExecOptions) (int32, error) {
	req := sandbox.ExecRequest{
		Cmd: opts.Cmd, Tty: opts.Tty, Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr, Timeout: opts.Timeout,
	}
	if opts.Resize != nil {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		req.Resize = termSizes(ctx, opts.Resize)
		code, err := c.c.Exec(ctx, id, req)
		return code, execErr(err)
	}
	code, err := c.c.Exec(ctx, id, req)
	return code, execErr(err)
}

// execErr turns the registry's timeout into the CRI edge's.
func execErr(err error) error {
	if errors.Is(err, sandbox.ErrExecTimeout) {
		return fmt.Errorf("%w: %w", cri.ErrExecTimeout, err)
	}
	return err
}

var criStates = map[sandbox.ContainerState]runtimeapi.ContainerState{
	sandbox.StateCreated: runtimeapi.ContainerState_CONTAINER_CREATED,
	sandbox.StateRunning: runtimeapi.ContainerState_CONTAINER_RUNNING,
	sandbox.StateExited:  runtimeapi.ContainerState_CONTAINER_EXITED,
	sandbox.StateUnknown: runtimeapi.ContainerState_CONTAINER_UNKNOWN,
}

func criContainer(st sandbox.ContainerStatus) cri.Container {
	return cri.Container{
		ID: st.ID, SandboxID: st.SandboxID, Image: st.Image, ImageID: st.ImageID, ImageRef: st.ImageRef,
		State: criStates[st.State], Pid: st.Pid, CreatedAt: st.CreatedAt, StartedAt: st.StartedAt, FinishedAt: st.FinishedAt,
		ExitCode: st.ExitCode, Reason: st.Reason, Message: st.Message, LogPath: st.LogPath, Config: st.Client,
		ImageVolumes: imageVolumes(st.ImageVolumes),
	}
}

// imageVolumes maps each image volume's container path to its image ID.
func imageVolumes(vols []sandbox.ImageVolume) map[string]string {
	if len(vols) == 0 {
		return nil
	}
	out := make(map[string]string, len(vols))
	for _, v := range vols {
		out[v.ContainerPath] = v.ImageID
	}
	return out
}

func (c criContainers) Attach(ctx context.Context, id string, opts cri.AttachOptions) error {
	req := sandbox.AttachRequest{Stdin: opts.Stdin, Stdout: opts.Stdout, Stderr: opts.Stderr, StdinOnce: opts.StdinOnce}
	if opts.Resize != nil {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		req.Resize = termSizes(ctx, opts.Resize)
		return c.c.Attach(ctx, id, req)
	}
	return c.c.Attach(ctx, id, req)
}

// termSizes turns the CRI edge's terminal sizes into the registry's until
// ctx ends.
func termSizes(ctx context.Context, in <-chan cri.Size) <-chan sandbox.TermSize {
	out := make(chan sandbox.TermSize)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case sz, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- sandbox.TermSize{Width: sz.Width, Height: sz.Height}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}
