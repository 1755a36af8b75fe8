// Package staticpods turns the static pod directory into pods: it watches the
// manifest files (fsnotify plus a periodic rescan) and asks the daemon, through
// the small Applier interface, to apply a new or changed file, to delete the
// pods of a removed file, and to report a broken one.
package staticpods
