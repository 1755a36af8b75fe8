package daemon

import (
	"testing"

	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	shimv1 "github.com/podd-dev/podd/proto/shim/v1"
)

// A CRI container's status user is the identity its shim config starts
// the process with; a config that does not read has none.
func TestContainerUserFromShimConfig(t *testing.T) {
	data, err := proto.Marshal(&shimv1.ContainerConfig{User: &shimv1.User{Uid: 1000, Gid: 1000, AdditionalGids: []uint32{1000, 1234, 50000}}})
	if err != nil {
		t.Fatal(err)
	}
	want := &runtimeapi.LinuxContainerUser{Uid: 1000, Gid: 1000, SupplementalGroups: []int64{1000, 1234, 50000}}
	if got := containerUser(data); !proto.Equal(got, want) {
		t.Errorf("containerUser = %v, want %v", got, want)
	}
	if got := containerUser([]byte("\xff")); got != nil {
		t.Errorf("containerUser of a bad config = %v", got)
	}
}
