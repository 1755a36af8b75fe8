// Package volume prepares a pod's volumes on the host (R92): emptyDir on
// disk or tmpfs, hostPath with its type checks, downwardAPI files. It
// returns where each volume lives, and removes them again with the pod.
package volume
