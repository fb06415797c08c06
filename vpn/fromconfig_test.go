package vpn

import (
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/palisade/palisade/firmware/config"
)

func TestFromConfigSeed(t *testing.T) {
	b, err := os.ReadFile("../firmware/config/testdata/srx1.set")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := config.Parse("srx1.set", string(b))
	if err != nil {
		t.Fatal(err)
	}
	sel := []Tunnel{{VPNName: "VPN-to-Host2", PolicyName: "VPN-OUT",
		Local: netip.MustParsePrefix("10.100.11.0/24"), Remote: netip.MustParsePrefix("10.100.22.0/24")}}
	gws, tuns, err := FromConfig(c, sel)
	if err != nil {
		t.Fatal(err)
	}
	if len(gws) != 1 || len(tuns) != 1 {
		t.Fatalf("got %d gateways, %d tunnels", len(gws), len(tuns))
	}
	g := gws[0]
	if g.Name != "IKE-GW" || g.LocalAddr != netip.MustParseAddr("172.16.13.1") || g.RemoteAddr != netip.MustParseAddr("172.16.23.1") || string(g.PSK) != "$ABC123" {
		t.Errorf("gateway: %+v", g)
	}
	wantIKE := IKEProposal{Name: "standard", Encryption: "aes-256-cbc", Authentication: "sha-256", DHGroup: "group14", Lifetime: 8 * time.Hour}
	if len(g.Proposals) != 1 || g.Proposals[0] != wantIKE {
		t.Errorf("ike proposals: %+v", g.Proposals)
	}
	tu := tuns[0]
	wantESP := IPsecProposal{Name: "standard", Encryption: "aes-256-cbc", Authentication: "hmac-sha-256-128", Lifetime: time.Hour}
	if tu.Gateway != "IKE-GW" || !tu.Immediately || len(tu.Proposals) != 1 || tu.Proposals[0] != wantESP || tu.PFSGroup != "" {
		t.Errorf("tunnel: %+v", tu)
	}
	if _, _, err := FromConfig(c, []Tunnel{{VPNName: "nope"}}); err == nil {
		t.Error("want an error for an unknown VPN")
	}
}
