// Package crilog reads and writes container logs in the CRI format the kubelet
// uses: one "<RFC3339Nano time> <stdout|stderr> <F|P> <content>" record per line,
// where P marks a partial line continued by the next record of the same stream.
// The shim writes these files; the daemon reads them back for `podctl logs`.
package crilog
