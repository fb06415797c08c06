package config

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	nameRE     = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._:/+-]{0,62}$`)
	hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]{0,61}[A-Za-z0-9])?$`)
	ifnameRE   = regexp.MustCompile(`^ge-([0-9]|[1-9][0-9])/([0-9]|[1-9][0-9])/([0-9]|[1-9][0-9])$`)
	ifunitRE   = regexp.MustCompile(`^(ge-(?:[0-9]|[1-9][0-9])/(?:[0-9]|[1-9][0-9])/(?:[0-9]|[1-9][0-9]))\.(0|[1-9][0-9]{0,4})$`)
)

// namedPorts are the service names Junos accepts in port ranges.
func namedPort(s string) (uint64, bool) {
	switch s {
	case "ftp-data":
		return 20, true
	case "ftp":
		return 21, true
	case "ssh":
		return 22, true
	case "telnet":
		return 23, true
	case "smtp":
		return 25, true
	case "domain":
		return 53, true
	case "http":
		return 80, true
	case "ntp":
		return 123, true
	case "bgp":
		return 179, true
	case "https":
		return 443, true
	case "syslog":
		return 514, true
	}
	return 0, false
}

// canonValue checks v against n's type and returns its canonical spelling.
// The message names what was expected, so the user can fix the statement.
func canonValue(n *Node, v string) (string, error) {
	if v == "" {
		return "", fmt.Errorf("%s needs a value", n.Name)
	}
	if len(n.Enum) > 0 {
		if slices.Contains(n.Enum, v) {
			return v, nil
		}
		// An enum may admit a numeric range too (protocol 0-255).
		for _, e := range n.Enum {
			lo, hi, ok := strings.Cut(e, "-")
			a, err1 := strconv.ParseUint(lo, 10, 64)
			b, err2 := strconv.ParseUint(hi, 10, 64)
			if ok && err1 == nil && err2 == nil {
				if x, err := strconv.ParseUint(v, 10, 64); err == nil && x >= a && x <= b {
					return strconv.FormatUint(x, 10), nil
				}
			}
		}
		return "", fmt.Errorf("invalid value %q for %s; valid values: %s", v, n.Name, strings.Join(n.Enum, ", "))
	}
	switch n.Type {
	case "", "text":
		if strings.ContainsAny(v, "\n\r\x00") {
			return "", fmt.Errorf("invalid value for %s: control characters are not allowed", n.Name)
		}
		return v, nil
	case "name":
		if !nameRE.MatchString(v) {
			return "", fmt.Errorf("invalid name %q for %s: use up to 63 letters, digits and ._:/+-", v, n.Name)
		}
		return v, nil
	case "hostname":
		if !hostnameRE.MatchString(v) {
			return "", fmt.Errorf("invalid host name %q: use letters, digits, '-' and '.'", v)
		}
		return v, nil
	case "ifname":
		if !ifnameRE.MatchString(v) {
			return "", fmt.Errorf("invalid interface name %q: expected ge-FPC/PIC/PORT such as ge-0/0/0", v)
		}
		return v, nil
	case "ifunit":
		if !ifunitRE.MatchString(v) {
			return "", fmt.Errorf("invalid logical interface %q: expected ge-FPC/PIC/PORT.UNIT such as ge-0/0/0.0", v)
		}
		return v, nil
	case "iface":
		if !ifnameRE.MatchString(v) && !ifunitRE.MatchString(v) {
			return "", fmt.Errorf("invalid interface %q for %s: expected ge-FPC/PIC/PORT[.UNIT] such as ge-0/0/1", v, n.Name)
		}
		return v, nil
	case "addr":
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			return "", fmt.Errorf("invalid IP address %q for %s", v, n.Name)
		}
		return a.String(), nil
	case "prefix":
		p, err := parsePrefixOrAddr(v)
		if err != nil {
			return "", fmt.Errorf("invalid prefix %q for %s: expected A.B.C.D/LEN", v, n.Name)
		}
		return p.Masked().String(), nil
	case "hostprefix":
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return "", fmt.Errorf("invalid address %q for %s: expected A.B.C.D/LEN", v, n.Name)
		}
		if p.Addr().Is4() && p.Bits() < 32 && p.Addr() == p.Masked().Addr() {
			return "", fmt.Errorf("invalid address %q for %s: it is the subnet's network address", v, n.Name)
		}
		return p.String(), nil
	case "uint":
		x, err := strconv.ParseUint(v, 10, 64)
		if err != nil || x < n.Min || x > n.Max {
			return "", fmt.Errorf("invalid value %q for %s: expected a number in %d..%d", v, n.Name, n.Min, n.Max)
		}
		return strconv.FormatUint(x, 10), nil
	case "portrange":
		lo, hi, isRange := strings.Cut(v, "-")
		a, err1 := parsePort(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = parsePort(hi)
		}
		if err1 != nil || err2 != nil || a > b {
			return "", fmt.Errorf("invalid port range %q for %s: expected PORT or LOW-HIGH in 0..65535", v, n.Name)
		}
		if a == b {
			return strconv.FormatUint(a, 10), nil
		}
		return fmt.Sprintf("%d-%d", a, b), nil
	case "crypt":
		for _, p := range []string{"$6$", "$5$", "$1$", "$2a$", "$2b$", "$2y$"} {
			if strings.HasPrefix(v, p) {
				return v, nil
			}
		}
		return "", fmt.Errorf("invalid %s: expected a crypt hash starting with $6$ (SHA-512) or $2b$ (bcrypt)", n.Name)
	case "hex":
		h := strings.TrimPrefix(strings.ToLower(v), "0x")
		if _, err := hex.DecodeString(h); err != nil || h == "" {
			return "", fmt.Errorf("invalid %s: expected an even number of hexadecimal digits", n.Name)
		}
		return h, nil
	}
	return "", fmt.Errorf("schema: unknown value type %q", n.Type)
}

func parsePort(s string) (uint64, error) {
	if p, ok := namedPort(s); ok {
		return p, nil
	}
	x, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return x, nil
}

// parsePrefixOrAddr accepts A.B.C.D/LEN or a bare address, which means a host.
func parsePrefixOrAddr(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		return netip.ParsePrefix(s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// PortRange parses a canonical port range ("80" or "1024-2048").
func PortRange(s string) (lo, hi uint16, err error) {
	a, b, isRange := strings.Cut(s, "-")
	x, err := strconv.ParseUint(a, 10, 16)
	if err != nil {
		return 0, 0, fmt.Errorf("bad port range %q: %w", s, err)
	}
	y := x
	if isRange {
		if y, err = strconv.ParseUint(b, 10, 16); err != nil {
			return 0, 0, fmt.Errorf("bad port range %q: %w", s, err)
		}
	}
	return uint16(x), uint16(y), nil
}
