package shim

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

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

// ReadExitRecords returns every exit record in stateDir, sorted by id. A
// missing directory means none.
func ReadExitRecords(stateDir string) ([]*ExitRecord, error) {
	dir := ExitsDir(stateDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read exit records: %w", err)
	}
	var out []*ExitRecord
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || filepath.Ext(name) != ".json" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read exit record: %w", err)
		}
		var r ExitRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("decode exit record %s: %w", filepath.Join(dir, name), err)
		}
		out = append(out, &r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
