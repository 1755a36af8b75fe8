// Package podworkertest is a scriptable fake host for tests of the pod
// worker and of the daemon: shims, network, volumes, images and root
// filesystems, each of which can fail, panic or hang at any step.
package podworkertest
