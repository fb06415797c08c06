package policy

import (
	"fmt"

	"github.com/palisade/palisade/firmware/config"
)

// zonesOf names a policy's zones in log lines; global policies match any.
func zonesOf(p config.ResolvedPolicy) (from, to string) {
	if p.Global {
		return "any", "any"
	}
	return p.From, p.To
}

// ProtocolName is how an SRX names a session's protocol.
func ProtocolName(p uint8) string {
	switch p {
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 58:
		return "icmp6"
	case 50:
		return "esp"
	}
	return fmt.Sprint(p)
}
