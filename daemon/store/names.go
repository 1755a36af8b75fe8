package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Names of container instances. Every run of a pod container has two:
//
//   - its instance key, "<container>-<restart>", under which the pod's shim
//     knows it, its root filesystem dir is named and its log is numbered
//     (the pause holder's key is spec.PauseID);
//   - its container ID, 64 random hex digits as containerd makes them, shown
//     to users as status containerID "podd://<id>". It is made when the
//     instance is created, stored with it (a shim label, and the worker's
//     state), and never made again for another instance.

// InstanceKey is the shim key of run restart of container name.
func InstanceKey(name string, restart int32) string {
	return name + "-" + strconv.FormatInt(int64(restart), 10)
}

// ParseInstanceKey splits an instance key into its container name and
// restart number; ok is false for a key InstanceKey did not make (such as
// spec.PauseID).
func ParseInstanceKey(key string) (name string, restart int32, ok bool) {
	i := strings.LastIndexByte(key, '-')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseInt(key[i+1:], 10, 32)
	if err != nil || n < 0 || key[i+1] == '+' {
		return "", 0, false
	}
	return key[:i], int32(n), true
}

// NewContainerID returns a fresh container ID: 32 random bytes in hex.
func NewContainerID() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// LegacyContainerID is the container ID of an instance made before IDs were
// stored (podd ≤ this change): derived from the pod UID and the instance key,
// so it is the same at every restore and unlike any other pod's.
func LegacyContainerID(podUID, key string) string {
	sum := sha256.Sum256([]byte("podd legacy container id\x00" + podUID + "\x00" + key))
	return hex.EncodeToString(sum[:])
}

// IsContainerID reports whether s has the form of a container ID.
func IsContainerID(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// NewSandboxID returns a fresh CRI sandbox ID: 32 random bytes in hex, as
// containerd makes them.
func NewSandboxID() string { return NewContainerID() }
