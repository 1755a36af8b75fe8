package volume

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/podd-dev/podd/runtime/unmount"
)

// Cleanup removes a pod's volumes: it deletes <podDir>/volumes without
// ever crossing into a mount or following a link, after it detached
// whatever is mounted below (tmpfs emptyDirs, staged binds, anything else
// that got there; unmount.RemoveAll), so a hostPath is never touched. It
// is idempotent.
func Cleanup(ctx context.Context, podDir string) error {
	dir := VolumesDir(podDir)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("clean up volumes in %s: %w", dir, err)
	}
	if err := unmount.RemoveAll(dir); err != nil {
		return fmt.Errorf("clean up volumes in %s: %w", dir, err)
	}
	return nil
}
