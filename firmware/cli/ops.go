package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// opTree is the tree of operational commands.
func (s *Session) opTree() *cmdNode {
	kw := func(name, help string, kids ...*cmdNode) *cmdNode {
		return &cmdNode{name: name, help: help, kids: kids}
	}
	run := func(n *cmdNode, f func(context.Context, *Session, *invocation) error) *cmdNode {
		n.run = f
		return n
	}
	flag := func(name, help string) *cmdNode { return &cmdNode{name: name, help: help, kind: optFlag} }
	index := &cmdNode{name: "index", help: "Index of security association", kind: optValue, numeric: true, value: "<index>"}
	idx := func() *cmdNode { c := *index; return &c }
	sa := func(n *cmdNode) *cmdNode { n.alias = "sa"; return n }
	needs := func(n *cmdNode) *cmdNode { n.needArg = true; return n }
	return &cmdNode{kids: []*cmdNode{
		kw("clear", "Clear information in the system",
			kw("security", "Clear security information",
				kw("flow", "Clear flow information",
					run(kw("session", "Clear session"), clearFlow)),
				kw("ike", "Clear Internet Key Exchange information",
					run(sa(kw("security-associations", "Clear IKE security associations")), clearIKE)),
				kw("ipsec", "Clear IP Security information",
					run(sa(kw("security-associations", "Clear IPSec security associations")), clearIPsecSAs),
					run(kw("statistics", "Clear IPSec statistics"), clearIPsecStats)))),
		run(kw("configure", "Manipulate software configuration information",
			flag("exclusive", "Obtain exclusive lock (other users cannot make changes)")), configure),
		run(kw("exit", "Exit the management session"), exitSession),
		kw("monitor", "Show real-time debugging information",
			needs(run(kw("traffic", "Show real-time network traffic information",
				&cmdNode{name: "interface", help: "Name of interface", kind: optValue, value: "<interface>"}), monitorTraffic))),
		needs(run(kw("ping", "Ping remote target",
			&cmdNode{name: "host", help: "Hostname or IP address of remote host", kind: argNode, value: "<host>"},
			&cmdNode{name: "count", help: "Number of ping requests to send (1..1000000000 packets)", kind: optValue, numeric: true, value: "<count>"},
			&cmdNode{name: "source", help: "Source address of echo request", kind: optValue, value: "<source>"}), ping)),
		run(kw("quit", "Exit the management session"), exitSession),
		kw("request", "Make system-level requests",
			kw("system", "System operations",
				kw("configuration", "Request operation on system configuration",
					kw("rescue", "Request operation on rescue configuration",
						run(kw("save", "Save current configuration as rescue configuration"), rescueSave))),
				run(kw("power-off", "Power off the system"), powerOff),
				run(kw("reboot", "Reboot the system"), reboot),
				kw("software", "Perform system software extension or upgrade operations",
					needs(run(kw("add", "Add a firmware bundle into the inactive slot and boot it once",
						&cmdNode{name: "package", help: "Bundle file or http(s) URL", kind: argNode, value: "<package>"},
						&cmdNode{name: "sha256", help: "Expected sha256 of the bundle", kind: optValue, value: "<hex>"},
						flag("no-reboot", "Do not reboot after adding")), softwareAdd)),
					run(kw("rollback", "Boot the other firmware slot again",
						flag("no-reboot", "Do not reboot after the rollback")), softwareRollback)))),
		kw("show", "Show system information",
			&cmdNode{name: "configuration", help: "Show current configuration", tail: tailShow, run: showConfiguration},
			kw("interfaces", "Show interface information",
				run(kw("terse", "Display terse output"), showInterfacesTerse)),
			kw("log", "Show contents of log file",
				run(kw("messages", "Contents of the messages log"), showLogMessages)),
			run(kw("route", "Show routing table information"), showRoute),
			run(kw("version", "Show software process revision levels"), showVersion),
			kw("security", "Show security information",
				kw("flow", "Show flow information",
					run(kw("session", "Show session information", flag("summary", "Show summary of sessions")), showFlow)),
				kw("ike", "Show Internet Key Exchange information",
					run(sa(kw("security-associations", "Show IKE security associations",
						idx(), flag("detail", "Show detailed output"), flag("brief", "Show brief output"))), showIKE)),
				kw("ipsec", "Show IP Security information",
					run(sa(kw("security-associations", "Show IPSec security associations",
						idx(), flag("detail", "Show detailed output"), flag("brief", "Show brief output"))), showIPsecSAs),
					run(kw("statistics", "Show IPSec statistics", idx()), showIPsecStats)),
				run(kw("policies", "Show security policies", flag("hit-count", "Show policies hit count")), showPolicies),
				run(kw("zones", "Show security zones"), showZones)),
			kw("system", "Show system information",
				run(kw("memory", "Show system memory usage"), showMemory),
				run(kw("software", "Show the firmware slots"), showSoftware),
				run(kw("storage", "Show local storage data"), showStorage),
				run(kw("uptime", "Show time since system and processes started"), showUptime))),
		needs(run(kw("traceroute", "Trace route to remote host",
			&cmdNode{name: "host", help: "Hostname or IP address of remote host", kind: argNode, value: "<host>"},
			flag("no-resolve", "Don't attempt to print addresses symbolically"),
			&cmdNode{name: "source", help: "Source address to use in outgoing traceroute packets", kind: optValue, value: "<source>"},
			&cmdNode{name: "ttl", help: "Maximum time-to-live value (1..64)", kind: optValue, numeric: true, value: "<ttl>"},
			&cmdNode{name: "wait", help: "Time to wait for a response (1..86400 seconds)", kind: optValue, numeric: true, value: "<wait>"}), traceroute)),
	}}
}

func exitSession(context.Context, *Session, *invocation) error { return errExit }

func configure(_ context.Context, s *Session, inv *invocation) error {
	excl := inv.has("exclusive")
	notes, err := s.Editor.enter(s, excl)
	if err != nil {
		return err
	}
	for _, n := range notes {
		s.println(n)
	}
	s.println("Entering configuration mode")
	s.configMode, s.exclusive, s.level = true, excl, nil
	return nil
}

func clearFlow(ctx context.Context, s *Session, _ *invocation) error {
	return s.Sys.ClearFlowSessions(ctx)
}

func clearIKE(ctx context.Context, s *Session, _ *invocation) error { return s.Sys.ClearIKESAs(ctx) }

func clearIPsecSAs(ctx context.Context, s *Session, _ *invocation) error {
	return s.Sys.ClearIPsecSAs(ctx)
}

func clearIPsecStats(ctx context.Context, s *Session, _ *invocation) error {
	return s.Sys.ClearIPsecStats(ctx)
}

func monitorTraffic(ctx context.Context, s *Session, inv *invocation) error {
	ifc, ok := inv.value("interface")
	if !ok {
		return errors.New("missing argument: interface <interface>")
	}
	err := s.Sys.MonitorTraffic(ctx, ifc, inv.out)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func ping(ctx context.Context, s *Session, inv *invocation) error {
	host, ok := inv.value("host")
	if !ok {
		return errors.New("missing mandatory argument: host")
	}
	count, err := inv.int("count", 0)
	if err != nil {
		return err
	}
	req := PingRequest{Host: host, Count: count}
	if src, ok := inv.value("source"); ok {
		a, err := netip.ParseAddr(src)
		if err != nil {
			return fmt.Errorf("invalid source address %q: %w", src, err)
		}
		req.Source = a
	}
	err = s.Sys.Ping(ctx, req, inv.out)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// traceroute runs `traceroute HOST`. no-resolve is accepted as Junos has it
// and changes nothing: addresses always print numerically.
func traceroute(ctx context.Context, s *Session, inv *invocation) error {
	host, ok := inv.value("host")
	if !ok {
		return errors.New("missing mandatory argument: host")
	}
	req := TracerouteRequest{Host: host}
	if src, ok := inv.value("source"); ok {
		a, err := netip.ParseAddr(src)
		if err != nil {
			return fmt.Errorf("invalid source address %q: %w", src, err)
		}
		req.Source = a
	}
	ttl, err := inv.int("ttl", 0)
	if err != nil {
		return err
	}
	if _, ok := inv.value("ttl"); ok && (ttl < 1 || ttl > 64) {
		return fmt.Errorf("invalid value %d for ttl: expected 1..64", ttl)
	}
	req.MaxTTL = ttl
	wait, err := inv.int("wait", 0)
	if err != nil {
		return err
	}
	if _, ok := inv.value("wait"); ok && (wait < 1 || wait > 86400) {
		return fmt.Errorf("invalid value %d for wait: expected 1..86400 seconds", wait)
	}
	req.Wait = time.Duration(wait) * time.Second
	err = s.Sys.Traceroute(ctx, req, inv.out)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func rescueSave(ctx context.Context, s *Session, _ *invocation) error { return s.Sys.RescueSave(ctx) }

func reboot(ctx context.Context, s *Session, _ *invocation) error {
	if !s.ask("Reboot the system ?", false) {
		return nil
	}
	s.println("Shutdown NOW!")
	return s.Sys.Reboot(ctx)
}

func powerOff(ctx context.Context, s *Session, _ *invocation) error {
	if !s.ask("Power Off the system ?", false) {
		return nil
	}
	s.println("Shutdown NOW!")
	return s.Sys.PowerOff(ctx)
}

func showConfiguration(_ context.Context, s *Session, inv *invocation) error {
	st, serr := walkPath(nil, inv.rest)
	if serr != nil {
		s.syntaxErr(serr, inv.promptLen)
		return nil
	}
	if !st.atBlock {
		return errors.New("syntax error, expecting a container or list entry")
	}
	return showConfig(s.Sys.Active(), blocksOf(st), inv)
}

func showInterfacesTerse(ctx context.Context, s *Session, inv *invocation) error {
	rows, err := s.Sys.Interfaces(ctx)
	if err != nil {
		return fmt.Errorf("reading interfaces: %w", err)
	}
	renderInterfacesTerse(inv.out, rows)
	return nil
}

func showLogMessages(ctx context.Context, s *Session, inv *invocation) error {
	lines, err := s.Sys.LogMessages(ctx)
	if err != nil {
		return fmt.Errorf("reading the messages log: %w", err)
	}
	for _, l := range lines {
		inv.printf("%s\n", l)
	}
	return nil
}

func showRoute(ctx context.Context, s *Session, inv *invocation) error {
	rs, err := s.Sys.Routes(ctx)
	if err != nil {
		return fmt.Errorf("reading routes: %w", err)
	}
	renderRoutes(inv.out, rs)
	return nil
}

func showFlow(ctx context.Context, s *Session, inv *invocation) error {
	ss, err := s.Sys.FlowSessions(ctx)
	if err != nil {
		return fmt.Errorf("reading flow sessions: %w", err)
	}
	if inv.has("summary") {
		renderFlowSummary(inv.out, ss)
		return nil
	}
	renderFlowSessions(inv.out, ss)
	return nil
}

func showIKE(ctx context.Context, s *Session, inv *invocation) error {
	sas, err := s.Sys.IKESAs(ctx)
	if err != nil {
		return fmt.Errorf("reading IKE SAs: %w", err)
	}
	if v, ok := inv.value("index"); ok {
		n, _ := strconv.ParseUint(v, 10, 32)
		var keep []IKESA
		for _, sa := range sas {
			if uint64(sa.Index) == n {
				keep = append(keep, sa)
			}
		}
		sas = keep
	}
	if inv.has("detail") {
		renderIKESADetail(inv.out, sas)
		return nil
	}
	renderIKESAs(inv.out, sas)
	// Junos lists nothing for a gateway without an SA; Palisade says why
	// a gateway cannot negotiate yet, below the table.
	waiting, err := s.Sys.IKEWaiting(ctx)
	if err != nil {
		return fmt.Errorf("reading IKE gateways: %w", err)
	}
	renderIKEWaiting(inv.out, waiting)
	return nil
}

func showIPsecSAs(ctx context.Context, s *Session, inv *invocation) error {
	sas, err := s.Sys.IPsecSAs(ctx)
	if err != nil {
		return fmt.Errorf("reading IPsec SAs: %w", err)
	}
	if v, ok := inv.value("index"); ok {
		n, _ := strconv.Atoi(v)
		var keep []IPsecSA
		for _, sa := range sas {
			if sa.ID == n {
				keep = append(keep, sa)
			}
		}
		sas = keep
	}
	if inv.has("detail") {
		renderIPsecSADetail(inv.out, sas)
		return nil
	}
	renderIPsecSAs(inv.out, sas)
	return nil
}

func showIPsecStats(ctx context.Context, s *Session, inv *invocation) error {
	n, err := inv.int("index", 0)
	if err != nil {
		return err
	}
	st, err := s.Sys.IPsecStats(ctx, n)
	if err != nil {
		return fmt.Errorf("reading IPsec statistics: %w", err)
	}
	renderIPsecStats(inv.out, st)
	return nil
}

func showPolicies(ctx context.Context, s *Session, inv *invocation) error {
	if inv.has("hit-count") {
		hits, err := s.Sys.PolicyHits(ctx)
		if err != nil {
			return fmt.Errorf("reading policy hit counts: %w", err)
		}
		renderPolicyHits(inv.out, s.Sys.Active(), hits)
		return nil
	}
	renderPolicies(inv.out, s.Sys.Active())
	return nil
}

func showZones(_ context.Context, s *Session, inv *invocation) error {
	renderZones(inv.out, s.Sys.Active())
	return nil
}

func showStorage(ctx context.Context, s *Session, inv *invocation) error {
	fss, err := s.Sys.Storage(ctx)
	if err != nil {
		return fmt.Errorf("reading storage: %w", err)
	}
	renderStorage(inv.out, fss)
	return nil
}

func showMemory(ctx context.Context, s *Session, inv *invocation) error {
	m, err := s.Sys.Memory(ctx)
	if err != nil {
		return fmt.Errorf("reading memory usage: %w", err)
	}
	renderMemory(inv.out, m)
	return nil
}

func showSoftware(ctx context.Context, s *Session, inv *invocation) error {
	text, err := s.Sys.SoftwareState(ctx)
	if err != nil {
		return err
	}
	io.WriteString(inv.out, text)
	return nil
}

func softwareAdd(ctx context.Context, s *Session, inv *invocation) error {
	pkg, ok := inv.value("package")
	if !ok {
		return errors.New("missing mandatory argument: package")
	}
	sum, _ := inv.value("sha256")
	version, slot, err := s.Sys.SoftwareAdd(ctx, pkg, sum)
	if err != nil {
		return err
	}
	s.println(fmt.Sprintf("Firmware %s written to slot %s; it boots once and must confirm itself, else slot %s comes back.", version, strings.ToUpper(slot), otherSlot(slot)))
	return rebootUnless(ctx, s, inv)
}

func softwareRollback(ctx context.Context, s *Session, inv *invocation) error {
	slot, err := s.Sys.SoftwareRollback(ctx)
	if err != nil {
		return err
	}
	s.println("Slot " + strings.ToUpper(slot) + " boots next.")
	return rebootUnless(ctx, s, inv)
}

// otherSlot names the slot that is not slot, as `show system software`
// does (A, B).
func otherSlot(slot string) string {
	if strings.EqualFold(slot, "a") {
		return "B"
	}
	return "A"
}

// rebootUnless reboots after a software change, unless no-reboot was given.
func rebootUnless(ctx context.Context, s *Session, inv *invocation) error {
	if inv.has("no-reboot") {
		return nil
	}
	s.println("Rebooting to activate it. Shutdown NOW!")
	return s.Sys.Reboot(ctx)
}

func showVersion(ctx context.Context, s *Session, inv *invocation) error {
	v, err := s.Sys.Version(ctx)
	if err != nil {
		return fmt.Errorf("reading the version: %w", err)
	}
	renderVersion(inv.out, s.Sys.Active().HostName("palisade"), v)
	return nil
}

func showUptime(ctx context.Context, s *Session, inv *invocation) error {
	u, err := s.Sys.Uptime(ctx)
	if err != nil {
		return fmt.Errorf("reading uptime: %w", err)
	}
	renderUptime(inv.out, u)
	return nil
}

// quoteWords quotes words as configuration text does.
func quoteWords(ws []string) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = quoteWord(w)
	}
	return out
}

func quoteWord(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\r\n{};[]\"#\\'$!*|") && !strings.HasPrefix(v, "/*") {
		return v
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
	return b.String()
}
