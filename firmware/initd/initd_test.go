package initd

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

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
