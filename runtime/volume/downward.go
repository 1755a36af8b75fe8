package volume

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/podd-dev/podd/internal/undo"
	"github.com/podd-dev/podd/runtime/atomicfile"
	"github.com/podd-dev/podd/runtime/spec/downward"
)

// prepareDownwardAPI writes one file per item into
// <podDir>/volumes/<name>: metadata fields and container resources, each
// replaced atomically. Pod metadata never changes for one UID (a changed pod
// is a new pod, R3), so the files are written once per Prepare.
func prepareDownwardAPI(pod *corev1.Pod, v *corev1.Volume, podDir string, rollback *undo.Stack) (string, error) {
	if err := ensureVolumesDir(podDir); err != nil {
		return "", err
	}
	dir := filepath.Join(VolumesDir(podDir), v.Name)
	if _, err := mkdirOwned(dir, 0o755, rollback); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	mode := int32(corev1.DownwardAPIVolumeSourceDefaultMode)
	if v.DownwardAPI.DefaultMode != nil {
		mode = *v.DownwardAPI.DefaultMode
	}
	var alloc corev1.ResourceList
	for i, it := range v.DownwardAPI.Items {
		var val string
		var err error
		switch {
		case it.FieldRef != nil:
			val, err = downward.FieldValue(pod, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			if alloc == nil {
				alloc = nodeAllocatable()
			}
			val, err = downward.ResourceValue(pod, "", it.ResourceFieldRef, alloc)
		default:
			err = fmt.Errorf("items[%d] has no source", i)
		}
		if err != nil {
			return "", fmt.Errorf("items[%d]: %w", i, err)
		}
		m := mode
		if it.Mode != nil {
			m = *it.Mode
		}
		if err := writeItem(dir, it.Path, val, os.FileMode(m)); err != nil {
			return "", fmt.Errorf("items[%d]: %w", i, err)
		}
	}
	return dir, nil
}

// writeItem writes one file below dir; the path cannot leave dir.
func writeItem(dir, rel, val string, mode os.FileMode) error {
	if parent := filepath.Dir(rel); parent != "." {
		if err := pathrs.MkdirAll(dir, parent, 0o755); err != nil {
			return fmt.Errorf("create directory for %q: %w", rel, err)
		}
	}
	target, err := securejoin.SecureJoin(dir, rel)
	if err != nil {
		return fmt.Errorf("resolve %q in %s: %w", rel, dir, err)
	}
	if err := atomicfile.WriteFile(target, []byte(val), mode); err != nil {
		return fmt.Errorf("write %s: %w", target, err)
	}
	// The mode must be exact, whatever the umask.
	return os.Chmod(target, mode)
}

// nodeAllocatable is this host's cpu count and memory: what an unset limit
// reads as through a resourceFieldRef.
func nodeAllocatable() corev1.ResourceList {
	list := corev1.ResourceList{
		corev1.ResourceCPU: *resource.NewQuantity(int64(runtime.NumCPU()), resource.DecimalSI),
	}
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		list[corev1.ResourceMemory] = *resource.NewQuantity(int64(si.Totalram)*int64(si.Unit), resource.BinarySI)
	}
	return list
}
