package initd

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/palisade/palisade/firmware/cli"
)

func TestDescribe(t *testing.T) {
	frame := make([]byte, 14+20+8)
	frame[12], frame[13] = 0x08, 0x00
	ip := frame[14:]
	ip[0], ip[9] = 0x45, 1
	copy(ip[12:], []byte{10, 100, 11, 10})
	copy(ip[16:], []byte{10, 100, 22, 10})
	ip[20] = 8
	if got, want := describe(frame), "IP 10.100.11.10 > 10.100.22.10: ICMP echo request, length 28"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := describe(frame[:10]); got != "truncated frame, 10 bytes" {
		t.Errorf("got %q", got)
	}
}

func TestPingLoopback(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for an ICMP socket")
	}
	var out bytes.Buffer
	err := Ping(context.Background(), cli.PingRequest{Host: "127.0.0.1", Count: 2, Source: netip.MustParseAddr("127.0.0.1")}, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PING 127.0.0.1 (127.0.0.1): 56 data bytes", "icmp_seq=1", "2 packets transmitted, 2 packets received, 0% packet loss"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("ping output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestKernelLogForwardsFirewallLines(t *testing.T) {
	var buf bytes.Buffer
	k := KernelLog{Log: slog.New(slog.NewTextHandler(&buf, nil)), Prefix: "palisade "}
	in := "6,100,5000,-;palisade session-init policy=VPN-OUT from=trust to=untrust action=permit IN=ge-0-0-0 SRC=10.100.11.10\n" +
		"6,101,5001,-;virtio_net virtio0: something else\n"
	if err := k.forward(context.Background(), strings.NewReader(in)); err == nil {
		t.Fatal("want io.EOF at the end of the input")
	}
	out := buf.String()
	if !strings.Contains(out, "palisade session-init policy=VPN-OUT") || strings.Contains(out, "virtio") {
		t.Errorf("got %s", out)
	}
}

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
