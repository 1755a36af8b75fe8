package shimdir

import (
	"path/filepath"
)

// Files and directories inside a shim's state directory
// (<run-root>/pods/<uid>).
const (
	// SocketName is the gRPC socket of a shim from before ttrpc streams
	// (InfoResponse.ttrpc_streams), which a daemon finds still running
	// after an upgrade: it serves the whole API there, or Exec and
	// Attach beside ttrpc; the shims of podd before ttrpc, nothing else.
	SocketName = "shim.sock"
	// TTRPCSocketName is the socket on which a shim serves the API over
	// ttrpc: an idle shim and the daemon's client of it are far lighter
	// than with gRPC (issue 13).
	TTRPCSocketName = "ttrpc.sock"
	PidFileName     = "shim.pid"
	LogFileName     = "shim.log"
	// RuncDirName is libcontainer's root for the pod's containers.
	RuncDirName = "runc"
	// ExitsDirName holds one <container-id>.json exit record per stopped
	// container.
	ExitsDirName = "exits"
)

// MaxSocketPath is the longest unix socket path the kernel accepts
// (sun_path is 108 bytes including the terminating NUL).
const MaxSocketPath = 107

// SocketPath is the gRPC socket of a shim from before ttrpc streams.
func SocketPath(stateDir string) string { return filepath.Join(stateDir, SocketName) }

// TTRPCSocketPath is the shim's ttrpc socket in stateDir.
func TTRPCSocketPath(stateDir string) string { return filepath.Join(stateDir, TTRPCSocketName) }

// PidFile is the file holding the shim's pid in stateDir.
func PidFile(stateDir string) string { return filepath.Join(stateDir, PidFileName) }

// LogFile is the shim's own log in stateDir.
func LogFile(stateDir string) string { return filepath.Join(stateDir, LogFileName) }

// RuncDir is libcontainer's state root in stateDir.
func RuncDir(stateDir string) string { return filepath.Join(stateDir, RuncDirName) }

// ExitsDir is the directory of exit records in stateDir.
func ExitsDir(stateDir string) string { return filepath.Join(stateDir, ExitsDirName) }

// ExitRecordPath is the exit record of container id in stateDir.
func ExitRecordPath(stateDir, id string) string {
	return filepath.Join(ExitsDir(stateDir), id+".json")
}
