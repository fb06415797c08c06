package seedlab

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// IKESA is a line of `show security ike security-associations`.
type IKESA struct {
	Index, State, InitiatorCookie, ResponderCookie, Mode, Remote string
}

// ParseIKESAs reads the SA lines of `show security ike security-associations`.
func ParseIKESAs(out string) []IKESA {
	var sas []IKESA
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) != 6 || !isDigits(f[0]) {
			continue
		}
		sas = append(sas, IKESA{f[0], f[1], f[2], f[3], f[4], f[5]})
	}
	return sas
}

// IPsecSA is a line of `show security ipsec security-associations`.
type IPsecSA struct {
	Inbound   bool // "<" (else ">", outbound)
	ID        string
	Algorithm string
	SPI       string
	Port      string
	Gateway   string
}

// ParseIPsecSAs reads the SA lines of `show security ipsec security-associations`.
func ParseIPsecSAs(out string) []IPsecSA {
	var sas []IPsecSA
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 6 || len(f[0]) < 2 || (f[0][0] != '<' && f[0][0] != '>') || !isDigits(f[0][1:]) {
			continue
		}
		sas = append(sas, IPsecSA{Inbound: f[0][0] == '<', ID: f[0][1:], Algorithm: f[1], SPI: f[2],
			Port: f[len(f)-2], Gateway: f[len(f)-1]})
	}
	return sas
}

// IPsecDetail is what the identity checks need of `show security ipsec security-associations index N
// detail`.
type IPsecDetail struct {
	ID, VPN                       string
	LocalIdentity, RemoteIdentity string // as shown: ipv4_subnet(any:0,[0..7]=10.100.11.0/24)
	Directions                    []string
}

var (
	detailID   = regexp.MustCompile(`(?m)^ID: (\d+) .*VPN Name: (\S+)`)
	detailIdty = regexp.MustCompile(`(?m)^\s*(Local|Remote) Identity: (\S+)`)
	detailDir  = regexp.MustCompile(`(?m)^\s*Direction: (inbound|outbound)`)
)

// ParseIPsecDetail reads `show security ipsec security-associations index N detail`.
func ParseIPsecDetail(out string) IPsecDetail {
	var d IPsecDetail
	if m := detailID.FindStringSubmatch(out); m != nil {
		d.ID, d.VPN = m[1], m[2]
	}
	for _, m := range detailIdty.FindAllStringSubmatch(out, -1) {
		if m[1] == "Local" && d.LocalIdentity == "" {
			d.LocalIdentity = m[2]
		}
		if m[1] == "Remote" && d.RemoteIdentity == "" {
			d.RemoteIdentity = m[2]
		}
	}
	for _, m := range detailDir.FindAllStringSubmatch(out, -1) {
		d.Directions = append(d.Directions, m[1])
	}
	return d
}

// SubnetIdentity is how the CLI shows the proxy-id of a subnet with any protocol and port.
func SubnetIdentity(prefix string) string { return "ipv4_subnet(any:0,[0..7]=" + prefix + ")" }

// ESPStats are the ESP counters of `show security ipsec statistics`.
type ESPStats struct {
	EncryptedBytes, DecryptedBytes, EncryptedPackets, DecryptedPackets uint64
}

func (s ESPStats) String() string {
	return fmt.Sprintf("encrypted %d packets/%d bytes, decrypted %d packets/%d bytes",
		s.EncryptedPackets, s.EncryptedBytes, s.DecryptedPackets, s.DecryptedBytes)
}

var statLine = regexp.MustCompile(`(?m)^\s*(Encrypted|Decrypted) (bytes|packets):\s+(\d+)\s*$`)

// ParseESPStats reads `show security ipsec statistics`; it fails unless all four ESP counters are there.
func ParseESPStats(out string) (ESPStats, error) {
	var s ESPStats
	seen := 0
	for _, m := range statLine.FindAllStringSubmatch(out, -1) {
		v, err := strconv.ParseUint(m[3], 10, 64)
		if err != nil {
			return s, fmt.Errorf("counter %s %s: %w", m[1], m[2], err)
		}
		switch m[1] + " " + m[2] {
		case "Encrypted bytes":
			s.EncryptedBytes = v
		case "Decrypted bytes":
			s.DecryptedBytes = v
		case "Encrypted packets":
			s.EncryptedPackets = v
		case "Decrypted packets":
			s.DecryptedPackets = v
		}
		seen++
	}
	if seen != 4 {
		return s, fmt.Errorf("found %d of the 4 ESP counters (Encrypted/Decrypted bytes/packets)", seen)
	}
	return s, nil
}

// HitCount is a line of `show security policies hit-count`.
type HitCount struct {
	Index, From, To, Name string
	Count                 uint64
	Action                string
}

// ParseHitCounts reads `show security policies hit-count`.
func ParseHitCounts(out string) []HitCount {
	var hs []HitCount
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) != 6 || !isDigits(f[0]) || !isDigits(f[4]) {
			continue
		}
		n, _ := strconv.ParseUint(f[4], 10, 64)
		hs = append(hs, HitCount{Index: f[0], From: f[1], To: f[2], Name: f[3], Count: n, Action: f[5]})
	}
	return hs
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// PingResult is the summary of iputils ping.
type PingResult struct{ Transmitted, Received int }

var pingSummary = regexp.MustCompile(`(\d+) packets transmitted, (\d+) (?:packets )?received`)

// ParsePing reads ping's summary line.
func ParsePing(out string) (PingResult, bool) {
	m := pingSummary.FindStringSubmatch(out)
	if m == nil {
		return PingResult{}, false
	}
	t, _ := strconv.Atoi(m[1])
	r, _ := strconv.Atoi(m[2])
	return PingResult{t, r}, true
}
