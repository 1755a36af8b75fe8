package daemon

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/podd-dev/podd/runtime/shim"
)

// gcTimeout bounds the start-up garbage collection.
const gcTimeout = 30 * time.Second

// collectGarbage releases what a crash or reboot left that belongs to no
// accepted pod: shims (with their containers and cgroups) of unknown pods,
// and CNI attachments and netns pins of sandboxes no pod uses. It runs
// before any worker starts, so no sandbox is being made meanwhile.
func (d *Daemon) collectGarbage(known map[string]bool, liveSandboxes []string) {
	ctx, cancel := context.WithTimeout(d.ctx, gcTimeout)
	defer cancel()
	dir := filepath.Join(d.cfg.RunRoot, "pods")
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		uid := e.Name()
		if known[uid] {
			continue
		}
		stateDir := filepath.Join(dir, uid)
		if cl, err := shim.Connect(ctx, stateDir); err == nil {
			if err := cl.Stop(ctx, true); err != nil {
				slog.Warn("GC: stop orphan shim", "uid", uid, "err", err)
			}
			cl.Close()
		}
		if err := os.RemoveAll(stateDir); err != nil {
			slog.Warn("GC: remove orphan shim dir", "uid", uid, "err", err)
		}
		slog.Info("GC: removed the shim of an unknown pod", "uid", uid)
	}
	if err := d.deps.Network.GC(ctx, liveSandboxes); err != nil {
		slog.Warn("GC: network", "err", err)
	}
}
