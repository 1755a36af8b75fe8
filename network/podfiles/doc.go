// Package podfiles renders a pod's /etc/hostname, /etc/hosts and
// /etc/resolv.conf the way the kubelet does (R91). The renderers are pure
// functions of the pod and the host's files; only ReadHostResolvConf reads.
package podfiles
