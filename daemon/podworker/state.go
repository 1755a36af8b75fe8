package podworker

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/podd-dev/podd/daemon/events"
	"github.com/podd-dev/podd/daemon/planner"
	"github.com/podd-dev/podd/daemon/store"
	"github.com/podd-dev/podd/runtime/idmap"
)

// AnnotationStaticSource marks a static pod with the manifest file it came from.
const AnnotationStaticSource = "podd.dev/static-source"

// AnnotationSpecHash records the hash of the spec as applied, so that an
// identical apply after a daemon restart is still a no-op (R3).
const AnnotationSpecHash = "podd.dev/spec-hash"

// Shim container labels the worker sets and reads back after a restart.
const (
	labelContainer  = "podd.container"
	labelStopSignal = "podd.stop-signal"
	labelImageID    = "podd.image-id"
	// labelContainerID holds the instance's container ID (store.NewContainerID);
	// instances made before it existed have none (store.LegacyContainerID).
	labelContainerID = "podd.container-id"
)

// State is what the worker persists for its pod (state.json): enough for a
// restarted daemon to carry on where it left off.
type State struct {
	// Sandbox is the current sandbox instance, nil when none exists.
	Sandbox *Sandbox `json:"sandbox,omitempty"`
	// SandboxCreating is the id of a sandbox whose creation started and has
	// not finished: after a crash, what it made (CNI ADD, shim) is undone.
	SandboxCreating string `json:"sandboxCreating,omitempty"`
	// SandboxUnknown says a sandbox of the pod may exist that this state
	// does not record (its state file was unreadable and started afresh):
	// the pod's shim and cgroup are killed before anything else.
	SandboxUnknown bool `json:"sandboxUnknown,omitempty"`
	// SandboxFailure is the last failed sandbox creation, until one succeeds.
	SandboxFailure *SandboxFailure `json:"sandboxFailure,omitempty"`
	// Deletion is the pending delete request.
	Deletion *planner.Deletion `json:"deletion,omitempty"`
	// History is the planner's memory.
	History planner.History `json:"history"`
	// Status is the pod status last computed.
	Status corev1.PodStatus `json:"status"`
	// StartFailures holds each container's failed start attempt that made no
	// instance, until a start succeeds.
	StartFailures map[string]*planner.StartFailure `json:"startFailures,omitempty"`
	// Events are the pod's events, restored after a daemon restart.
	Events []events.Event `json:"events,omitempty"`
	// UserNS is the pod's user namespace (hostUsers: false), the same for
	// every sandbox of the pod, held until the pod is removed.
	UserNS *idmap.Mappings `json:"userNS,omitempty"`
}

// SandboxFailure is a failed sandbox creation.
type SandboxFailure struct {
	Message string    `json:"message"`
	At      time.Time `json:"at"`
	// Waiting: it failed on a claim, ConfigMap or Secret that does not exist
	// yet (planner.Sandbox.Waiting).
	Waiting bool `json:"waiting,omitempty"`
}

// adoptLegacyContainerIDs upgrades a state written before instances had
// container IDs: the instances it names get their derived IDs
// (store.LegacyContainerID), the same ones observe gives instances without
// the label, so the status shows one stable ID per instance.
func adoptLegacyContainerIDs(uid string, st *State) {
	for name, h := range st.History.Containers {
		if h.InstanceID != "" && h.ContainerID == "" {
			h.ContainerID = store.LegacyContainerID(uid, h.InstanceID)
		}
		adoptLegacyTermination(uid, h.Exit)
		adoptLegacyTermination(uid, h.LastTermination)
		st.History.Containers[name] = h
	}
	for _, list := range [][]corev1.ContainerStatus{st.Status.InitContainerStatuses, st.Status.ContainerStatuses} {
		for i := range list {
			cs := &list[i]
			cs.ContainerID = legacyContainerID(uid, cs.ContainerID)
			adoptLegacyTermination(uid, cs.State.Terminated)
			adoptLegacyTermination(uid, cs.LastTerminationState.Terminated)
		}
	}
}

func adoptLegacyTermination(uid string, t *corev1.ContainerStateTerminated) {
	if t != nil {
		t.ContainerID = legacyContainerID(uid, t.ContainerID)
	}
}

// legacyContainerID turns a status containerID of the old form
// "podd://<instance key>" into the derived one; others are returned as is.
func legacyContainerID(uid, statusID string) string {
	key, ok := strings.CutPrefix(statusID, planner.ContainerIDPrefix)
	if !ok || store.IsContainerID(key) {
		return statusID
	}
	if _, _, ok := store.ParseInstanceKey(key); !ok {
		return statusID
	}
	return planner.ContainerIDPrefix + store.LegacyContainerID(uid, key)
}
