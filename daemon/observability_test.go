package daemon

import "testing"

// The metrics listener is loopback unless a remote address is allowed
// explicitly: the metrics have no authentication.
func TestCheckMetricsAddress(t *testing.T) {
	for _, tc := range []struct {
		addr        string
		allowRemote bool
		ok          bool
	}{
		{"127.0.0.1:9101", false, true},
		{"127.0.0.1:0", false, true},
		{"[::1]:9101", false, true},
		{"localhost:9101", false, true},
		{":9101", false, false},
		{"0.0.0.0:9101", false, false},
		{"192.0.2.7:9101", false, false},
		{"example.com:9101", false, false},
		{"0.0.0.0:9101", true, true},
		{":9101", true, true},
		{"127.0.0.1", false, false},
		{"127.0.0.1", true, false},
	} {
		err := CheckMetricsAddress(tc.addr, tc.allowRemote)
		if (err == nil) != tc.ok {
			t.Errorf("CheckMetricsAddress(%q, allowRemote=%v) = %v, want ok=%v", tc.addr, tc.allowRemote, err, tc.ok)
		}
	}
}
