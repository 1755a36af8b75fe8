package sandbox

import (
	"errors"
	"fmt"
	"os"

	"github.com/podd-dev/podd/runtime/atomicfile"
)

// WritePodFiles writes a sandbox's generated /etc files (hosts,
// resolv.conf, hostname: files, by path) into dir, a directory of the
// sandbox's run directory runDir. They live as long as the sandbox runs,
// as CRI-O keeps them in its run root: runDir stays 0700 (0711 once
// Searchable), whoever makes it first, the shim or this. Never fsynced: a
// sandbox's files are written anew with it after a reboot. With inPlace, a
// file that exists is rewritten in place: containers made ahead
// bind-mounted it, which a rename would replace (none of them runs yet to
// read it half written; a crash meanwhile undoes the whole sandbox).
func WritePodFiles(runDir, dir string, files map[string][]byte, inPlace bool) error {
	if err := os.MkdirAll(runDir, 0o700); err != nil {
		return fmt.Errorf("write pod files: %w", err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("write pod files: %w", err)
	}
	for path, data := range files {
		if err := writePodFile(path, data, inPlace); err != nil {
			return fmt.Errorf("write pod files: %w", err)
		}
	}
	return nil
}

// PodFilesMissing reports whether the pod files whose hosts file is hosts
// are missing: a sandbox made by a podd that kept them in its persistent
// directory, whose next container writes them anew.
func PodFilesMissing(hosts string) bool {
	_, err := os.Stat(hosts)
	return errors.Is(err, os.ErrNotExist)
}

func writePodFile(path string, data []byte, inPlace bool) error {
	if inPlace {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err == nil {
			_, err = f.Write(data)
			return errors.Join(err, f.Close())
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return atomicfile.Replace(path, data, 0o644)
}
