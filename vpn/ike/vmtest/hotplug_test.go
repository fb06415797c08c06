package vmtest

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestVMGatewayWaitsForItsPort: SRX1 boots without the NIC of ge-0/0/1, the
// port its IKE gateway's external-interface names. The configuration
// commits anyway, with a warning naming the port, and `show security ike
// security-associations` says the gateway waits for its interface. Then the
// NIC is hot-plugged (QEMU device_add): the box names it ge-0/0/1, applies
// its addresses and routes without a commit, the gateway starts, and the
// tunnel to strongSwan comes up and carries a ping.
func TestVMGatewayWaitsForItsPort(t *testing.T) {
	l := startLab(t, setup{version: 2, weInitiate: true, unplugged: []int{1}})
	msgs := l.cli("show log messages | no-more")
	if !strings.Contains(msgs, "interfaces ge-0/0/1: this board has no such port") {
		t.Errorf("no warning names the missing port:\n%s", lastLines(msgs, 30))
	}
	if strings.Contains(msgs, "applying the configuration failed") || strings.Contains(l.lab.Guest("srx1").Output(), "applying the configuration failed") {
		t.Fatalf("the configuration failed to apply without the port")
	}
	ike := l.cli("show security ike security-associations")
	if !strings.Contains(ike, "IKE gateway IKE-GW: waiting for its interface ge-0/0/1 (local address 172.16.13.1 is not on this box)") {
		t.Fatalf("show security ike security-associations does not say the gateway waits:\n%s", ike)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	plugged := time.Now()
	if err := l.lab.Plug(ctx, "srx1", 1); err != nil {
		t.Fatal(err)
	}
	l.waitInstalled(2 * time.Minute)
	t.Logf("the tunnel came up %.1f s after the NIC was plugged", time.Since(plugged).Seconds())
	if ups := upSAs(l.ikeSAs()); len(ups) != 1 {
		t.Errorf("IKE SAs after the plug: %v, want one UP", l.ikeSAs())
	}
	if ike := l.cli("show security ike security-associations"); strings.Contains(ike, "waiting for its interface") {
		t.Errorf("the gateway still waits after its port came:\n%s", ike)
	}
	msgs = l.cli("show log messages | no-more")
	for _, want := range []string{"port added", "name=ge-0/0/1", "IKE gateway started: its address is up"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("the log lacks %q:\n%s", want, lastLines(msgs, 30))
		}
	}
	l.pingOK(5)
}
