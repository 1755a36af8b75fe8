package shimdir

import (
	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// Reasons a container's start can fail with (the kubelet's words).
const (
	ReasonCannotRun = "ContainerCannotRun"
	ReasonRunError  = "RunContainerError"
)

// ExitRecord is what a shim writes (atomically) when a container stops, before
// it reports the exit. It is the on-disk form of a stopped ContainerState, so a
// daemon can learn exits even when the shim is gone.
type ExitRecord struct {
	ID               string            `json:"id"`
	Pid              int32             `json:"pid,omitempty"`
	CreatedUnixNano  int64             `json:"createdUnixNano"`
	StartedUnixNano  int64             `json:"startedUnixNano,omitempty"`
	FinishedUnixNano int64             `json:"finishedUnixNano"`
	ExitCode         int32             `json:"exitCode"`
	Signal           int32             `json:"signal,omitempty"`
	OOMKilled        bool              `json:"oomKilled,omitempty"`
	Reason           string            `json:"reason,omitempty"`
	Message          string            `json:"message,omitempty"`
	LogPath          string            `json:"logPath,omitempty"`
	Labels           map[string]string `json:"labels,omitempty"`
}

// State returns the record as a STOPPED ContainerState.
func (r *ExitRecord) State() *shimv1.ContainerState {
	return &shimv1.ContainerState{
		Id:               r.ID,
		Status:           shimv1.Status_STATUS_STOPPED,
		Pid:              r.Pid,
		CreatedUnixNano:  r.CreatedUnixNano,
		StartedUnixNano:  r.StartedUnixNano,
		FinishedUnixNano: r.FinishedUnixNano,
		ExitCode:         r.ExitCode,
		Signal:           r.Signal,
		OomKilled:        r.OOMKilled,
		Reason:           r.Reason,
		Message:          r.Message,
		LogPath:          r.LogPath,
		Labels:           r.Labels,
	}
}
