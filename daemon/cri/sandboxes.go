package cri

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podd-dev/podd/runtime/idmap"
)

// Sandboxes is podd's sandbox service as the CRI calls use it: the same
// steps (netns + CNI, shim, pause) that podd's own pods are made with, kept
// apart from those pods. podd never restarts or collects these sandboxes:
// the CRI client does.
type Sandboxes interface {
	// Run makes a sandbox; one of the same name, namespace, UID and
	// attempt is refused (errdefs.ErrAlreadyExists).
	Run(ctx context.Context, spec SandboxSpec) (Sandbox, error)
	// Stop releases a sandbox's processes and network; an unknown ID
	// succeeds.
	Stop(ctx context.Context, id string) error
	// Remove stops and forgets a sandbox; an unknown ID succeeds.
	Remove(ctx context.Context, id string) error
	// Get returns one sandbox; an unknown ID is errdefs.ErrNotFound.
	Get(ctx context.Context, id string) (Sandbox, error)
	// List returns every sandbox, oldest first.
	List(ctx context.Context) ([]Sandbox, error)
}

// SandboxSpec is a RunPodSandbox request in podd's terms.
type SandboxSpec struct {
	Name, Namespace, UID string
	Attempt              uint32
	Hostname             string
	// HostNetwork, HostPID and HostIPC: namespace mode NODE; SharePID:
	// PID mode POD.
	HostNetwork, HostPID, HostIPC, SharePID bool
	// UserNS, when set, gives the sandbox its own user namespace with
	// these mappings (mode POD).
	UserNS  *idmap.Mappings
	Sysctls map[string]string
	// DNS is nil for the node's resolv.conf.
	DNS          *DNSConfig
	Ports        []PortMapping
	CgroupParent string
	Labels       map[string]string
	Annotations  map[string]string
	LogDirectory string
	OOMScoreAdj  int32
	// Config is the request's PodSandboxConfig (protobuf), kept with the
	// sandbox for its status.
	Config []byte
}

// DNSConfig is a sandbox's resolv.conf.
type DNSConfig struct{ Servers, Searches, Options []string }

// PortMapping is a hostPort of the sandbox.
type PortMapping struct {
	HostPort, ContainerPort int32
	// Protocol is TCP, UDP or SCTP.
	Protocol, HostIP string
}

// Sandbox is a sandbox as made and observed.
type Sandbox struct {
	ID        string
	Ready     bool
	CreatedAt time.Time
	NetnsPath string
	// Cgroup is the sandbox's pod cgroup, its containers' parent.
	Cgroup string
	IP     string
	IPs    []string
	// Config is SandboxSpec.Config.
	Config []byte
}

// config decodes the sandbox's PodSandboxConfig.
func (sb Sandbox) config() *runtimeapi.PodSandboxConfig {
	cfg := &runtimeapi.PodSandboxConfig{}
	proto.Unmarshal(sb.Config, cfg) // written by RunPodSandbox; an old or bad one reads as empty
	return cfg
}

func (sb Sandbox) state() runtimeapi.PodSandboxState {
	if sb.Ready {
		return runtimeapi.PodSandboxState_SANDBOX_READY
	}
	return runtimeapi.PodSandboxState_SANDBOX_NOTREADY
}
