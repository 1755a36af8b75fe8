// Package version holds podd's build version, set by the Makefile's ldflags.
package version

// Version is the build version; "dev" when built without the Makefile.
var Version = "dev"

// APIVersion is the version of the pod API served on the socket.
const APIVersion = "podd.v1"
