package cli

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/palisade/palisade/firmware/config"
)

// Renderers for the operational show commands. The layouts are Junos's
// (shared/seed/OUTPUTS.md): column starts matter, scripts parse them.

// pad left-aligns s in a column of width w, always leaving one space.
func pad(s string, w int) string {
	if len(s) >= w {
		return s + " "
	}
	return s + strings.Repeat(" ", w-len(s))
}

// formatAge renders a route age as Junos: HH:MM:SS under a day, then
// Nd HH:MM:SS, then NwNd HH:MM:SS. OUTPUTS.md's prose says MM:SS under an
// hour, but its example (read off a real SRX) shows 00:12:01, and users
// compare with the real box: the example wins.
func formatAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	days, s := s/86400, s%86400
	h, m, sec := s/3600, s/60%60, s%60
	switch {
	case days == 0:
		return fmt.Sprintf("%02d:%02d:%02d", h, m, sec)
	case days < 7:
		return fmt.Sprintf("%dd %02d:%02d:%02d", days, h, m, sec)
	}
	return fmt.Sprintf("%dw%dd %02d:%02d:%02d", days/7, days%7, h, m, sec)
}

func renderIKESAs(w io.Writer, sas []IKESA) {
	fmt.Fprintln(w, "Index   State  Initiator cookie  Responder cookie  Mode           Remote Address")
	for _, sa := range sas {
		fmt.Fprintf(w, "%s%s%s%s%s%s\n", pad(strconv.FormatUint(uint64(sa.Index), 10), 8), pad(upDown(sa.Up), 7),
			pad(fmt.Sprintf("%016x", sa.InitiatorCookie), 18), pad(fmt.Sprintf("%016x", sa.ResponderCookie), 18),
			pad(sa.Mode, 15), sa.Remote.Addr())
	}
}

func renderIKEWaiting(w io.Writer, ws []IKEWaiting) {
	for _, g := range ws {
		fmt.Fprintf(w, "IKE gateway %s: waiting for its interface %s (local address %s is not on this box)\n", g.Gateway, g.Interface, g.Local)
	}
}

func upDown(up bool) string {
	if up {
		return "UP"
	}
	return "DOWN"
}

func renderIKESADetail(w io.Writer, sas []IKESA) {
	for i, sa := range sas {
		if i > 0 {
			fmt.Fprintln(w)
		}
		role := "Responder"
		if sa.Initiator {
			role = "Initiator"
		}
		fmt.Fprintf(w, "IKE peer %s, Index %d, Gateway Name: %s\n", sa.Remote.Addr(), sa.Index, sa.Gateway)
		fmt.Fprintf(w, "  Role: %s, State: %s\n", role, upDown(sa.Up))
		fmt.Fprintf(w, "  Initiator cookie: %016x, Responder cookie: %016x\n", sa.InitiatorCookie, sa.ResponderCookie)
		fmt.Fprintf(w, "  Exchange type: %s, Authentication method: %s\n", sa.Mode, sa.AuthMethod)
		fmt.Fprintf(w, "  Local: %s, Remote: %s\n", sa.Local, sa.Remote)
		fmt.Fprintf(w, "  Lifetime: Expires in %d seconds\n", int64(sa.Expires/time.Second))
		fmt.Fprintf(w, "  Peer ike-id: %s\n", sa.PeerID)
		fmt.Fprintf(w, "  Algorithms:\n")
		fmt.Fprintf(w, "   Authentication        : %s\n", sa.Auth)
		fmt.Fprintf(w, "   Encryption            : %s\n", sa.Encryption)
		fmt.Fprintf(w, "   Pseudo random function: %s\n", sa.PRF)
		fmt.Fprintf(w, "   Diffie-Hellman group  : DH-group-%d\n", sa.DHGroup)
		fmt.Fprintf(w, "  Traffic statistics:\n")
		fmt.Fprintf(w, "   Input  bytes  :%21d\n", sa.InBytes)
		fmt.Fprintf(w, "   Output bytes  :%21d\n", sa.OutBytes)
		fmt.Fprintf(w, "   Input  packets:%21d\n", sa.InPackets)
		fmt.Fprintf(w, "   Output packets:%21d\n", sa.OutPackets)
		fmt.Fprintf(w, "  IPSec security associations: %d created, %d deleted\n", sa.IPsecCreated, sa.IPsecDeleted)
		fmt.Fprintf(w, "  Phase 2 negotiations in progress: %d\n", sa.Phase2Pending)
	}
}

func (sa *IPsecSA) algorithm() string {
	auth := sa.Auth
	if auth == "" {
		auth = "None"
	}
	return "ESP:" + sa.Encryption + "/" + auth
}

func (sa *IPsecSA) life() string {
	kb := "unlim"
	if sa.LifeKB > 0 {
		kb = strconv.FormatUint(sa.LifeKB, 10)
	}
	return fmt.Sprintf("%d/ %s", int64(sa.Lifetime/time.Second), kb)
}

func renderIPsecSAs(w io.Writer, sas []IPsecSA) {
	fmt.Fprintf(w, "  Total active tunnels: %d     Total Ipsec sas: %d\n", len(sas), len(sas))
	fmt.Fprintln(w, "  ID    Algorithm       SPI      Life:sec/kb  Mon lsys Port  Gateway")
	for _, sa := range sas {
		for _, d := range []struct {
			mark string
			spi  uint32
		}{{"<", sa.In.SPI}, {">", sa.Out.SPI}} {
			fmt.Fprintf(w, "  %s%s%s%s- root %d %s\n", pad(d.mark+strconv.Itoa(sa.ID), 6), pad(sa.algorithm(), 16),
				pad(fmt.Sprintf("%08x", d.spi), 9), pad(sa.life(), 10), sa.Port, sa.Remote)
		}
	}
}

const eventTime = "Mon Jan 2 2006 15:04:05 MST"

func proxyID(p fmt.Stringer) string {
	return "ipv4_subnet(any:0,[0..7]=" + p.String() + ")"
}

func renderIPsecSADetail(w io.Writer, sas []IPsecSA) {
	for i, sa := range sas {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "ID: %d Virtual-system: root, VPN Name: %s\n", sa.ID, sa.VPN)
		fmt.Fprintf(w, "  Local Gateway: %s, Remote Gateway: %s\n", sa.Local, sa.Remote)
		fmt.Fprintf(w, "  Local Identity: %s\n", proxyID(sa.LocalID))
		fmt.Fprintf(w, "  Remote Identity: %s\n", proxyID(sa.RemoteID))
		fmt.Fprintf(w, "  Version: %s\n", sa.Version)
		fmt.Fprintf(w, "  DF-bit: %s, Copy-Outer-DSCP Disabled, Policy-name: %s\n", sa.DFBit, sa.Policy)
		fmt.Fprintf(w, "  Port: %d, Nego#: %d, Fail#: %d, Def-Del#: 0 Flag: 0x600829\n", sa.Port, sa.Negotiation, sa.Failures)
		fmt.Fprintf(w, "  Tunnel events:\n")
		for _, e := range sa.Events {
			fmt.Fprintf(w, "    %s: %s (%d times)\n", e.Time.Format(eventTime), e.Text, e.Count)
		}
		for _, d := range []struct {
			dir string
			spi uint32
		}{{"inbound", sa.In.SPI}, {"outbound", sa.Out.SPI}} {
			fmt.Fprintf(w, "  Direction: %s, SPI: %08x, AUX-SPI: 0\n", d.dir, d.spi)
			fmt.Fprintf(w, "                              , VPN Monitoring: -\n")
			fmt.Fprintf(w, "    Hard lifetime: Expires in %d seconds\n", int64(sa.Lifetime/time.Second))
			if sa.LifeKB > 0 {
				fmt.Fprintf(w, "    Lifesize Remaining:  %d kilobytes\n", sa.LifeKB)
			} else {
				fmt.Fprintf(w, "    Lifesize Remaining:  Unlimited\n")
			}
			fmt.Fprintf(w, "    Soft lifetime: Expires in %d seconds\n", int64(sa.SoftLife/time.Second))
			fmt.Fprintf(w, "    Mode: Tunnel(0 0), Type: dynamic, State: installed\n")
			auth := sa.AuthLong
			if auth == "" {
				auth = "None"
			}
			enc, _, _ := strings.Cut(sa.Encryption, "-128")
			enc, _, _ = strings.Cut(enc, "-192")
			enc, _, _ = strings.Cut(enc, "-256")
			fmt.Fprintf(w, "    Protocol: ESP, Authentication: %s, Encryption: %s (%d bits)\n", auth, enc, sa.EncBits)
			fmt.Fprintf(w, "    Anti-replay service: counter-based enabled, Replay window size: %d\n", sa.ReplayWin)
		}
	}
}

func renderIPsecStats(w io.Writer, st IPsecStats) {
	fmt.Fprintf(w, "ESP Statistics:\n")
	fmt.Fprintf(w, "  Encrypted bytes:%17d\n", st.EncryptedBytes)
	fmt.Fprintf(w, "  Decrypted bytes:%17d\n", st.DecryptedBytes)
	fmt.Fprintf(w, "  Encrypted packets:%15d\n", st.EncryptedPackets)
	fmt.Fprintf(w, "  Decrypted packets:%15d\n", st.DecryptedPackets)
	fmt.Fprintf(w, "AH Statistics:\n")
	fmt.Fprintf(w, "  Input bytes:%21d\n", st.AHInBytes)
	fmt.Fprintf(w, "  Output bytes:%20d\n", st.AHOutBytes)
	fmt.Fprintf(w, "  Input packets:%19d\n", st.AHInPackets)
	fmt.Fprintf(w, "  Output packets:%18d\n", st.AHOutPackets)
	fmt.Fprintf(w, "Errors:\n")
	fmt.Fprintf(w, "  AH authentication failures: %d, Replay errors: %d\n", st.AHAuthFailures, st.ReplayErrors)
	fmt.Fprintf(w, "  ESP authentication failures: %d, ESP decryption failures: %d\n", st.ESPAuthFailures, st.ESPDecryptFails)
	fmt.Fprintf(w, "  Bad headers: %d, Bad trailers: %d\n", st.BadHeaders, st.BadTrailers)
}

func (fw FlowWing) String() string {
	return fmt.Sprintf("%s/%d --> %s/%d;%s, Conn Tag: 0x%x, If: %s, Pkts: %d, Bytes: %d,",
		fw.Src, fw.SrcPort, fw.Dst, fw.DstPort, fw.Proto, fw.ConnTag, fw.Interface, fw.Packets, fw.Bytes)
}

func renderFlowSessions(w io.Writer, ss []FlowSession) {
	for _, s := range ss {
		fmt.Fprintf(w, "Session ID: %d, Policy name: %s/%d, Timeout: %d, Valid\n", s.ID, s.Policy, s.PolicyIndex, s.Timeout)
		fmt.Fprintf(w, "  In: %s\n", s.In)
		fmt.Fprintf(w, "  Out: %s\n", s.Out)
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Total sessions: %d\n", len(ss))
}

func renderFlowSummary(w io.Writer, ss []FlowSession) {
	n := len(ss)
	fmt.Fprintf(w, "Unicast-sessions: %d\n", n)
	fmt.Fprintf(w, "Multicast-sessions: 0\n")
	fmt.Fprintf(w, "Failed-sessions: 0\n")
	fmt.Fprintf(w, "Sessions-in-use: %d\n", n)
	fmt.Fprintf(w, "  Valid sessions: %d\n", n)
	fmt.Fprintf(w, "  Pending sessions: 0\n")
	fmt.Fprintf(w, "  Invalidated sessions: 0\n")
	fmt.Fprintf(w, "  Sessions in other states: 0\n")
}

func renderInterfacesTerse(w io.Writer, rows []InterfaceRow) {
	fmt.Fprintln(w, "Interface               Admin Link Proto    Local                 Remote")
	for _, r := range rows {
		line := pad(r.Name, 24) + pad(upDownLower(r.Admin), 6) + upDownLower(r.Link)
		if r.Proto != "" || len(r.Local) > 0 {
			line = pad(line, 35) + r.Proto
		}
		for i, a := range r.Local {
			if i > 0 {
				line = strings.Repeat(" ", 44)
			} else {
				line = pad(line, 44)
			}
			line += a
			if r.Remote != "" && i == 0 {
				line = pad(line, 66) + r.Remote
			}
			if i < len(r.Local)-1 {
				fmt.Fprintln(w, line)
			}
		}
		fmt.Fprintln(w, line)
	}
}

func upDownLower(b bool) string {
	if b {
		return "up"
	}
	return "down"
}

func renderRoutes(w io.Writer, rs []Route) {
	rs = append([]Route(nil), rs...)
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i].Destination, rs[j].Destination
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c < 0
		}
		return a.Bits() < b.Bits()
	})
	dests := map[string]bool{}
	active := 0
	for _, r := range rs {
		dests[r.Destination.String()] = true
		if r.Active {
			active++
		}
	}
	fmt.Fprintf(w, "inet.0: %d destinations, %d routes (%d active, 0 holddown, 0 hidden)\n", len(dests), len(rs), active)
	fmt.Fprintln(w, "+ = Active Route, - = Last Active, * = Both")
	fmt.Fprintln(w)
	prev := ""
	for _, r := range rs {
		dst := r.Destination.String()
		if dst == prev {
			dst = ""
		}
		prev = r.Destination.String()
		mark := " "
		if r.Active {
			mark = "*"
		}
		fmt.Fprintf(w, "%s%s[%s/%d] %s\n", pad(dst, 19), mark, r.Protocol, r.Preference, formatAge(r.Age))
		switch {
		case r.Protocol == "Local":
			fmt.Fprintf(w, "%sLocal via %s\n", strings.Repeat(" ", 23), r.Interface)
		case r.NextHop.IsValid():
			fmt.Fprintf(w, "%s>  to %s via %s\n", strings.Repeat(" ", 20), r.NextHop, r.Interface)
		default:
			fmt.Fprintf(w, "%s>  via %s\n", strings.Repeat(" ", 20), r.Interface)
		}
	}
}

func renderZones(w io.Writer, c *config.Config) {
	for i, z := range c.ZoneList() {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "Security zone: %s\n", z.Name)
		fmt.Fprintf(w, "  Send reset for non-SYN session TCP packets: Off\n")
		fmt.Fprintf(w, "  Policy configurable: Yes\n")
		fmt.Fprintf(w, "  Interfaces bound: %d\n", len(z.Interfaces))
		fmt.Fprintf(w, "  Interfaces:\n")
		for _, ifc := range z.Interfaces {
			fmt.Fprintf(w, "    %s\n", ifc.Name)
		}
	}
}

func hitKey(from, to, name string) string { return from + "\x00" + to + "\x00" + name }

func hitMap(hits []PolicyHit) map[string]uint64 {
	m := make(map[string]uint64, len(hits))
	for _, h := range hits {
		m[hitKey(h.From, h.To, h.Name)] = h.Count
	}
	return m
}

func policyAction(p config.ResolvedPolicy) string {
	a := p.Action
	if p.VPN != "" {
		a += ", tunnel"
	}
	if p.Count {
		a += ", count"
	}
	return a
}

func renderPolicies(w io.Writer, c *config.Config) {
	def := "deny-all"
	if pol := c.Security; pol != nil && pol.Policies != nil && pol.Policies.DefaultPolicy != nil && pol.Policies.DefaultPolicy.PermitAll {
		def = "permit-all"
	}
	fmt.Fprintf(w, "Default policy: %s\n", def)
	pols, _ := config.NewIndex(c).Policies()
	ctx := ""
	for _, p := range pols {
		head := fmt.Sprintf("From zone: %s, To zone: %s", p.From, p.To)
		if p.Global {
			head = "Global policies:"
		}
		if head != ctx {
			fmt.Fprintln(w, head)
			ctx = head
		}
		fmt.Fprintf(w, "  Policy: %s, State: enabled, Index: %d, Scope Policy: 0, Sequence number: %d\n", p.Name, p.Index, p.Sequence)
		if p.Global {
			fmt.Fprintf(w, "    From zones: %s\n", orAny(p.FromZones))
			fmt.Fprintf(w, "    To zones: %s\n", orAny(p.ToZones))
		}
		fmt.Fprintf(w, "    Source addresses: %s\n", strings.Join(p.SrcNames, ", "))
		fmt.Fprintf(w, "    Destination addresses: %s\n", strings.Join(p.DstNames, ", "))
		fmt.Fprintf(w, "    Applications: %s\n", strings.Join(p.AppNames, ", "))
		fmt.Fprintf(w, "    Action: %s\n", policyAction(p))
	}
}

func orAny(s []string) string {
	if len(s) == 0 {
		return "any"
	}
	return strings.Join(s, ", ")
}

func renderPolicyHits(w io.Writer, c *config.Config, hits []PolicyHit) {
	m := hitMap(hits)
	pols, _ := config.NewIndex(c).Policies()
	fmt.Fprintln(w, "Logical system: root-logical-system")
	fmt.Fprintln(w, "Index   From zone        To zone           Name           Policy count  Action")
	for i, p := range pols {
		from, to := p.From, p.To
		if p.Global {
			from, to = "any", "any"
		}
		action := strings.ToUpper(p.Action[:1]) + p.Action[1:]
		fmt.Fprintf(w, "%s%s%s%s%s%s\n", pad(strconv.Itoa(i+1), 8), pad(from, 17), pad(to, 18), pad(p.Name, 15),
			pad(strconv.FormatUint(m[hitKey(p.From, p.To, p.Name)], 10), 14), action)
	}
}

func humanSize(n uint64) string {
	units := []string{"B", "K", "M", "G", "T"}
	f := float64(n)
	i := 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i > 0 && f < 10 {
		return fmt.Sprintf("%.1f%s", f, units[i])
	}
	return fmt.Sprintf("%.0f%s", f, units[i])
}

func renderStorage(w io.Writer, fss []Filesystem) {
	fmt.Fprintln(w, "Filesystem              Size       Used      Avail  Capacity   Mounted on")
	for _, fs := range fss {
		capacity := 0
		if fs.Size > 0 {
			capacity = int((fs.Used*100 + fs.Size - 1) / fs.Size)
		}
		fmt.Fprintf(w, "%s%4s%11s%11s%9d%%   %s\n", pad(fs.Name, 24), humanSize(fs.Size), humanSize(fs.Used),
			humanSize(fs.Avail), capacity, fs.MountedOn)
	}
}

const clockTime = "2006-01-02 15:04:05 MST"

func sinceText(d time.Duration) string {
	s := int64(d / time.Second)
	if s < 0 {
		s = 0
	}
	days, s := s/86400, s%86400
	hms := fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
	switch {
	case days == 0:
		return hms
	case days < 7:
		return fmt.Sprintf("%dd %s", days, hms)
	}
	return fmt.Sprintf("%dw%dd %s", days/7, days%7, hms)
}

func renderVersion(w io.Writer, host string, v Version) {
	fmt.Fprintf(w, "Hostname: %s\n", host)
	fmt.Fprintf(w, "Model: %s (%s)\n", v.Board, v.Arch)
	fmt.Fprintf(w, "Palisade: %s\n", v.Firmware)
	if v.Slot != "" {
		fmt.Fprintf(w, "Firmware slot: %s\n", v.Slot)
	}
	fmt.Fprintf(w, "Linux kernel: %s\n", v.Kernel)
}

func renderUptime(w io.Writer, u Uptime) {
	fmt.Fprintf(w, "Current time: %s\n", u.Now.Format(clockTime))
	fmt.Fprintf(w, "Time Source:  LOCAL CLOCK\n")
	fmt.Fprintf(w, "System booted: %s (%s ago)\n", u.Booted.Format(clockTime), sinceText(u.Now.Sub(u.Booted)))
	if !u.LastConfigured.IsZero() {
		fmt.Fprintf(w, "Last configured: %s (%s ago) by %s\n", u.LastConfigured.Format(clockTime),
			sinceText(u.Now.Sub(u.LastConfigured)), u.ConfiguredBy)
	}
	up := u.Now.Sub(u.Booted)
	var upText string
	switch days, mins := int(up.Hours())/24, int(up.Minutes())%(24*60); {
	case days > 0:
		upText = fmt.Sprintf("%d days, %d:%02d", days, mins/60, mins%60)
	case mins >= 60:
		upText = fmt.Sprintf("%d:%02d", mins/60, mins%60)
	default:
		upText = fmt.Sprintf("%d mins", mins)
	}
	users := "users"
	if u.Users == 1 {
		users = "user"
	}
	fmt.Fprintf(w, "%s  up %s, %d %s, load averages: %.2f, %.2f, %.2f\n", u.Now.Format("3:04PM"), upText,
		u.Users, users, u.Load[0], u.Load[1], u.Load[2])
}

// renderMemory prints the distribution as Junos's `show system memory`
// begins, then the firmware process, which on this box is PID 1.
func renderMemory(w io.Writer, m Memory) {
	pct := func(v int64) int64 {
		if m.TotalKB == 0 {
			return 0
		}
		return v * 100 / m.TotalKB
	}
	fmt.Fprintf(w, "System memory usage distribution:\n")
	fmt.Fprintf(w, "        Total memory: %9d Kbytes (100%%)\n", m.TotalKB)
	fmt.Fprintf(w, "    Available memory: %9d Kbytes (%3d%%)\n", m.AvailableKB, pct(m.AvailableKB))
	fmt.Fprintf(w, "         Free memory: %9d Kbytes (%3d%%)\n", m.FreeKB, pct(m.FreeKB))
	fmt.Fprintf(w, "Firmware process (PID 1):\n")
	fmt.Fprintf(w, "        Resident: %9d Kbytes\n", m.RSSKB)
	fmt.Fprintf(w, "   Peak resident: %9d Kbytes\n", m.PeakRSSKB)
	fmt.Fprintf(w, "         Go heap: %9d Kbytes\n", m.GoHeapKB)
}
