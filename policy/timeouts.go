package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/palisade/palisade/firmware/config"
)

// Session timeouts. An SRX ends an idle session after its application's
// inactivity timeout (defaults TCP 1800 s, UDP 60 s, ICMP 60 s, others
// 1800 s). Linux conntrack has its own defaults (an established TCP session
// lives 5 days). nftables could attach per-policy timeouts with `ct timeout`
// objects, but google/nftables v0.3.0 cannot build them correctly (no ICMP,
// and it writes into its package-level default tables), so Palisade sets the
// namespace-wide conntrack timeouts to the Junos defaults instead, and
// rejects a per-application inactivity-timeout at commit rather than
// ignoring it.

// ConntrackSysctls are the net.netfilter settings that give conntrack the
// Junos default timeouts and per-session packet and byte counts (for
// `show security flow session`). Keys are paths under /proc/sys.
func ConntrackSysctls() map[string]string {
	return map[string]string{
		"net/netfilter/nf_conntrack_acct":                    "1",
		"net/netfilter/nf_conntrack_tcp_timeout_established": strconv.Itoa(config.DefaultTCPTimeout),
		"net/netfilter/nf_conntrack_udp_timeout":             strconv.Itoa(config.DefaultUDPTimeout),
		"net/netfilter/nf_conntrack_udp_timeout_stream":      strconv.Itoa(config.DefaultUDPTimeout),
		"net/netfilter/nf_conntrack_icmp_timeout":            strconv.Itoa(config.DefaultICMPTimeout),
		"net/netfilter/nf_conntrack_icmpv6_timeout":          strconv.Itoa(config.DefaultICMPTimeout),
		"net/netfilter/nf_conntrack_generic_timeout":         strconv.Itoa(config.DefaultOtherTimeout),
	}
}

// WriteSysctls writes settings under root (normally /proc/sys). The
// net/ entries belong to the network namespace of the calling thread at
// the time of the call. The files appear once conntrack is in use in the
// namespace, so call it after the first Apply.
func WriteSysctls(root string, settings map[string]string) error {
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var errs []error
	for _, k := range keys {
		if err := os.WriteFile(filepath.Join(root, k), []byte(settings[k]+"\n"), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("setting %s: %w", strings.ReplaceAll(k, "/", "."), err))
		}
	}
	return errors.Join(errs...)
}

// checkTimeouts refuses applications with their own inactivity-timeout,
// which Palisade does not implement (see above).
func checkTimeouts(idx *config.Index, p config.ResolvedPolicy) error {
	for _, name := range p.AppNames {
		terms, err := idx.Application(name)
		if err != nil {
			continue // reported by Policies
		}
		for _, t := range terms {
			if t.InactivityTimout != 0 {
				return fmt.Errorf("%s match application %s: inactivity-timeout is not implemented; sessions use the Junos defaults (tcp %d s, udp %d s, icmp %d s)",
					p.Statement, name, config.DefaultTCPTimeout, config.DefaultUDPTimeout, config.DefaultICMPTimeout)
			}
		}
	}
	return nil
}
