package diag

import (
	"bytes"
	"context"
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
