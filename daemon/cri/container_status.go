package cri

import (
	"context"
	"encoding/json"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ContainerStatus reports a container: state, exit code and reason
// (Completed, Error, OOMKilled, StartError; Unknown when its end was not
// seen), times, image and image ref, mounts (an image volume's with the
// ID of its image), log path, labels,
// annotations and the user its process starts as (uid, gid and
// supplementary groups, the primary group among them, as containerd has
// them); verbose adds an "info" entry.
func (s *runtimeService) ContainerStatus(ctx context.Context, req *runtimeapi.ContainerStatusRequest) (*runtimeapi.ContainerStatusResponse, error) {
	if req.GetContainerId() == "" {
		return nil, invalid("container_id is required")
	}
	c, err := s.cfg.Containers.Get(ctx, req.GetContainerId())
	if err != nil {
		return nil, toStatus(err)
	}
	cfg := c.config()
	st := &runtimeapi.ContainerStatus{
		Id: c.ID, Metadata: cfg.GetMetadata(), State: c.State, CreatedAt: c.CreatedAt.UnixNano(),
		ExitCode: c.ExitCode, Image: s.imageSpec(ctx, c, cfg), ImageRef: c.ImageRef, ImageId: c.ImageID,
		Reason: c.Reason, Message: c.Message, Labels: cfg.GetLabels(), Annotations: cfg.GetAnnotations(),
		Mounts: statusMounts(cfg.GetMounts(), c.ImageVolumes), LogPath: c.LogPath,
		Resources: &runtimeapi.ContainerResources{Linux: cfg.GetLinux().GetResources()},
	}
	if !c.StartedAt.IsZero() {
		st.StartedAt = c.StartedAt.UnixNano()
	}
	if !c.FinishedAt.IsZero() {
		st.FinishedAt = c.FinishedAt.UnixNano()
	}
	if c.User != nil {
		st.User = &runtimeapi.ContainerUser{Linux: c.User}
	} else if u := cfg.GetLinux().GetSecurityContext().GetRunAsUser(); u != nil {
		st.User = &runtimeapi.ContainerUser{Linux: &runtimeapi.LinuxContainerUser{Uid: u.GetValue()}}
	}
	resp := &runtimeapi.ContainerStatusResponse{Status: st}
	if req.GetVerbose() {
		info, err := json.Marshal(containerInfo{
			SandboxID: c.SandboxID, Pid: c.Pid, Image: c.Image, LogPath: c.LogPath, RuntimeHandler: "", Config: cfg,
		})
		if err != nil {
			return nil, toStatus(err)
		}
		resp.Info = map[string]string{"info": string(info)}
	}
	return resp, nil
}

// statusMounts are the container's mounts as asked, an image volume's with
// the ID of the image mounted (image.image_ref).
func statusMounts(mounts []*runtimeapi.Mount, images map[string]string) []*runtimeapi.Mount {
	out := make([]*runtimeapi.Mount, len(mounts))
	for i, m := range mounts {
		out[i] = m
		if id, ok := images[m.GetContainerPath()]; ok && m.GetImage() != nil {
			out[i] = proto.Clone(m).(*runtimeapi.Mount)
			out[i].Image.ImageRef = id
		}
	}
	return out
}

// containerInfo is ContainerStatus's verbose "info", as containerd's.
type containerInfo struct {
	SandboxID      string                      `json:"sandboxID"`
	Pid            int32                       `json:"pid"`
	Image          string                      `json:"image"`
	LogPath        string                      `json:"logPath,omitempty"`
	RuntimeHandler string                      `json:"runtimeHandler"`
	Config         *runtimeapi.ContainerConfig `json:"config"`
}
