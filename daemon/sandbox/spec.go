package sandbox

import (
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podd-dev/podd/network"
	"github.com/podd-dev/podd/runtime/idmap"
)

// Spec is a sandbox a client (the CRI server) asks for, in podd's terms;
// the client validated it.
type Spec struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	UID       string `json:"uid"`
	Attempt   uint32 `json:"attempt"`
	// Hostname is the sandbox's (UTS namespace, /etc/hostname); "" is the
	// node's.
	Hostname string `json:"hostname,omitempty"`
	// HostNetwork, HostPID and HostIPC use the node's namespaces;
	// SharePID gives the sandbox one PID namespace (the pause owns it).
	HostNetwork bool              `json:"hostNetwork,omitempty"`
	HostPID     bool              `json:"hostPID,omitempty"`
	HostIPC     bool              `json:"hostIPC,omitempty"`
	SharePID    bool              `json:"sharePID,omitempty"`
	Sysctls     map[string]string `json:"sysctls,omitempty"`
	// UserNS, when set, gives the sandbox its own user namespace with
	// these mappings, which its containers join.
	UserNS *idmap.Mappings `json:"userNS,omitempty"`
	// DNS is the sandbox's resolv.conf; nil copies the node's.
	DNS   *DNS                  `json:"dns,omitempty"`
	Ports []network.PortMapping `json:"ports,omitempty"`
	// CgroupParent is the cgroup the client puts the sandbox under (its
	// own cgroup goes inside, store.Layout.CRIPodCgroup); "" is podd's.
	CgroupParent string            `json:"cgroupParent,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	LogDirectory string            `json:"logDirectory,omitempty"`
	// OOMScoreAdj is asked for the pause (clamped by the shim).
	OOMScoreAdj int32 `json:"oomScoreAdj"`
	// Client is the client's own description of the sandbox (CRI: its
	// config), kept with the record and handed back as is.
	Client []byte `json:"client,omitempty"`
}

// DNS is a sandbox's resolver configuration.
type DNS struct {
	Servers  []string `json:"servers,omitempty"`
	Searches []string `json:"searches,omitempty"`
	Options  []string `json:"options,omitempty"`
}

// State is a client sandbox's state, as CRI names them.
type State string

const (
	// Ready: the pause (and so the sandbox's namespaces) runs.
	Ready State = "ready"
	// NotReady: stopped, lost (its shim or pause is gone, a reboot), or
	// never finished (a crash during its creation).
	NotReady State = "notready"
	// Creating: the record of a creation in progress; a daemon restart
	// finds it NotReady.
	Creating State = "creating"
)

// Record is a client sandbox as persisted.
type Record struct {
	ID        string    `json:"id"`
	Spec      Spec      `json:"spec"`
	State     State     `json:"state"`
	CreatedAt time.Time `json:"createdAt"`
	NetnsPath string    `json:"netnsPath,omitempty"`
	IP        string    `json:"ip,omitempty"`
	IPs       []string  `json:"ips,omitempty"`
	// PodCgroup is the cgroup the sandbox runs in.
	PodCgroup string `json:"podCgroup"`
	// Released is set once the shim and the network are released (Stop).
	Released bool `json:"released,omitempty"`
}

// pod is the sandbox as the pause config (runtime/spec) reads a pod.
func (s *Spec) pod() *corev1.Pod {
	sharePID := s.SharePID
	hostname := s.Hostname
	if hostname == "" {
		hostname, _ = os.Hostname() // as containerd does
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, UID: types.UID(s.UID), Labels: s.Labels},
		Spec: corev1.PodSpec{
			Hostname: hostname, HostNetwork: s.HostNetwork, HostPID: s.HostPID, HostIPC: s.HostIPC,
			ShareProcessNamespace: &sharePID,
		},
	}
	if len(s.Sysctls) > 0 {
		pod.Spec.SecurityContext = &corev1.PodSecurityContext{}
		for k, v := range s.Sysctls {
			pod.Spec.SecurityContext.Sysctls = append(pod.Spec.SecurityContext.Sysctls, corev1.Sysctl{Name: k, Value: v})
		}
	}
	return pod
}
