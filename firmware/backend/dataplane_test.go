package backend

import "testing"

func TestPeerIDAsJunosShowsIt(t *testing.T) {
	for in, want := range map[string]string{
		"ipv4(any:0,[0..3]=172.16.23.1)": "172.16.23.1",
		"fqdn(any:0,[0..7]=gw.example)":  "fqdn(any:0,[0..7]=gw.example)",
		"172.16.23.1":                    "172.16.23.1",
	} {
		if got := peerID(in); got != want {
			t.Errorf("peerID(%q) = %q, want %q", in, got, want)
		}
	}
}
