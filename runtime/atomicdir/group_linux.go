package atomicdir

import (
	"os"
	"syscall"
)

// hasGroup reports whether fi belongs to group gid.
func hasGroup(fi os.FileInfo, gid int64) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int64(st.Gid) == gid
}
