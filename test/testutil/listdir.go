package testutil

import (
	"golang.org/x/sys/unix"
)

// NamesAtOnce lists the names in dir as one getdents call sees them: the
// directory's lock holds renames off for the call. os.ReadDir (and
// filepath.Glob) read on until a call returns nothing, so a rename between
// two of their calls shows one file under its old name and its new one: a
// listing during a log rotation could count a file twice.
func NamesAtOnce(dir string) ([]string, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	buf := make([]byte, 256*1024)
	n, err := unix.Getdents(fd, buf)
	if err != nil {
		return nil, err
	}
	_, _, names := unix.ParseDirent(buf[:n], -1, nil)
	return names, nil
}
