package seedlab

import (
	"reflect"
	"testing"
)

// The layouts of ../shared/seed/OUTPUTS.md, as SRX1 prints them.
const (
	ikeOut = `Index   State  Initiator cookie  Responder cookie  Mode           Remote Address
1859361 UP     0f33732903bd3ed7  ed31e2cf6088415f  Main           172.16.23.1
`
	ipsecOut = `  Total active tunnels: 1     Total Ipsec sas: 1
  ID    Algorithm       SPI      Life:sec/kb  Mon lsys Port  Gateway
  <2    ESP:aes-cbc-128/sha1 94337ff7 921/ unlim - root 500 172.16.23.1
  >2    ESP:aes-cbc-128/sha1 b941875f 921/ unlim - root 500 172.16.23.1
`
	ipsecDetailOut = `ID: 2 Virtual-system: root, VPN Name: VPN-to-Host2
  Local Gateway: 172.16.13.1, Remote Gateway: 172.16.23.1
  Local Identity: ipv4_subnet(any:0,[0..7]=10.100.11.0/24)
  Remote Identity: ipv4_subnet(any:0,[0..7]=10.100.22.0/24)
  Version: IKEv1
  Direction: inbound, SPI: 94337ff7, AUX-SPI: 0
    Mode: Tunnel(0 0), Type: dynamic, State: installed
  Direction: outbound, SPI: b941875f, AUX-SPI: 0
`
	statsOut = `ESP Statistics:
  Encrypted bytes:             5376
  Decrypted bytes:             3360
  Encrypted packets:             40
  Decrypted packets:             40
AH Statistics:
  Input bytes:                    0
  Output bytes:                   0
  Input packets:                  0
  Output packets:                 0
`
	hitOut = `Logical system: root-logical-system
Index   From zone        To zone           Name           Policy count  Action
1       trust            untrust           VPN-OUT        40            Permit
2       trust            untrust           default-permit 3             Permit
3       untrust          trust             VPN-IN         0             Permit
`
)

func TestParseIKESAs(t *testing.T) {
	got := ParseIKESAs(ikeOut)
	want := []IKESA{{"1859361", "UP", "0f33732903bd3ed7", "ed31e2cf6088415f", "Main", "172.16.23.1"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParseIPsecSAs(t *testing.T) {
	got := ParseIPsecSAs(ipsecOut)
	want := []IPsecSA{
		{Inbound: true, ID: "2", Algorithm: "ESP:aes-cbc-128/sha1", SPI: "94337ff7", Port: "500", Gateway: "172.16.23.1"},
		{Inbound: false, ID: "2", Algorithm: "ESP:aes-cbc-128/sha1", SPI: "b941875f", Port: "500", Gateway: "172.16.23.1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParseIPsecDetail(t *testing.T) {
	got := ParseIPsecDetail(ipsecDetailOut)
	want := IPsecDetail{ID: "2", VPN: "VPN-to-Host2", LocalIdentity: SubnetIdentity("10.100.11.0/24"),
		RemoteIdentity: SubnetIdentity("10.100.22.0/24"), Directions: []string{"inbound", "outbound"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestParseESPStats(t *testing.T) {
	got, err := ParseESPStats(statsOut)
	if err != nil {
		t.Fatal(err)
	}
	if want := (ESPStats{EncryptedBytes: 5376, DecryptedBytes: 3360, EncryptedPackets: 40, DecryptedPackets: 40}); got != want {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := ParseESPStats("ESP Statistics:\n  Encrypted bytes: 1\n"); err == nil {
		t.Error("a partial statistics output parsed without error")
	}
}

func TestParseHitCounts(t *testing.T) {
	got := ParseHitCounts(hitOut)
	if len(got) != 3 || got[1] != (HitCount{"2", "trust", "untrust", "default-permit", 3, "Permit"}) {
		t.Errorf("got %+v", got)
	}
}

func TestParsePing(t *testing.T) {
	got, ok := ParsePing("--- 10.100.22.10 ping statistics ---\n5 packets transmitted, 4 received, 20% packet loss, time 803ms\n")
	if !ok || got != (PingResult{5, 4}) {
		t.Errorf("got %+v %v", got, ok)
	}
}

// The console echoes what is typed through a line editor that wraps at 80 columns, with CR LF line
// ends; Run returns only the command's output.
func TestStripEcho(t *testing.T) {
	const cmd = "insert security policies from-zone trust to-zone untrust policy default-permit before policy VPN-OUT"
	raw := "insert security policies from-zone trust to-zone untrust policy defau\r\nlt-permit before policy VPN-OUT\r\n\r\n[edit]\r\nroot@SRX1# "
	if got, want := stripEcho(cleanConsole(raw), cmd), "\n[edit]\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	raw = "show security ipsec statistics\r\nESP Statistics:\r\n  Encrypted bytes: 0\r\n\x1b[Kroot@SRX1> "
	if got, want := stripEcho(cleanConsole(raw), "show security ipsec statistics"), "ESP Statistics:\n  Encrypted bytes: 0\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
