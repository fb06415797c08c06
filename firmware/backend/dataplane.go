package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/nftables"
	mdnetlink "github.com/mdlayher/netlink"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/palisade/palisade/drivers/ports"
	"github.com/palisade/palisade/firmware/cli"
	"github.com/palisade/palisade/firmware/commit"
	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/policy"
	"github.com/palisade/palisade/vpn"
	"github.com/palisade/palisade/vpn/ike/seam"
	"github.com/palisade/palisade/vpn/xfrm"
)

// Dataplane holds the firewall and the VPN daemon, and answers the CLI's
// questions about them. What runs comes from the commit pipeline's
// running Intent.
type Dataplane struct {
	log     *slog.Logger
	h       *netlink.Handle
	nft     *nftables.Conn
	applier *policy.Applier
	vpn     *vpn.Daemon
	running func() *commit.Intent
}

// StartDataplane opens the kernel handles, closes the box until the first
// commit and makes the VPN daemon, whose Run the caller supervises.
// running gives the pipeline's running Intent.
func StartDataplane(ctx context.Context, h *netlink.Handle, log *slog.Logger, running func() *commit.Intent) (*Dataplane, error) {
	nft, err := nftables.New(policy.ConnOptions(-1)...)
	if err != nil {
		return nil, fmt.Errorf("opening nftables: %w", err)
	}
	events := make(chan xfrm.Event, 64)
	if err := xfrm.Subscribe(ctx, netns.None(), events); err != nil {
		log.Error("xfrm events: on-traffic tunnels and rekeys on kilobytes will not work", "err", err)
		close(events)
	}
	d := &Dataplane{log: log, nft: nft, h: h, applier: policy.NewApplier(nft), running: running,
		vpn: vpn.New(vpn.Options{Log: log.With("service", "ike"), Handle: h, Events: events})}
	// Until the first commit, the ruleset of an empty configuration drops
	// everything that is not the box's own: addresses may come up before
	// the configuration's policies are in.
	closed, err := policy.Compile(&config.Config{}, policy.Options{KernelName: ports.UnitKernelName})
	if err == nil {
		err = d.applier.Apply(ctx, closed.Ruleset)
	}
	if err != nil {
		return nil, fmt.Errorf("closing the box before the first commit: %w", err)
	}
	return d, nil
}

// Stages are the commit stages of the firewall and the VPN, and the kernel
// settings that turn forwarding on once they are in.
func (d *Dataplane) Stages() []commit.Stage {
	return []commit.Stage{commit.FirewallStage(d.applier), commit.VPNStage(d.vpn), commit.SystemStage("/proc/sys", d.log)}
}

// VPN is the IKE daemon, for the supervisor.
func (d *Dataplane) VPN() *vpn.Daemon { return d.vpn }

// errNoDataplane answers questions about a firewall and VPN that failed to
// start (boot said why on the console).
var errNoDataplane = errors.New("the firewall and VPN are not running (see show log messages)")

// ClearIKE deletes the IKE SAs.
func (d *Dataplane) ClearIKE(ctx context.Context) error {
	if d == nil {
		return errNoDataplane
	}
	return d.vpn.ClearIKE(ctx)
}

// ClearIPsec deletes the IPsec SAs.
func (d *Dataplane) ClearIPsec(ctx context.Context) error {
	if d == nil {
		return errNoDataplane
	}
	return d.vpn.ClearIPsec(ctx)
}

// ClearIPsecStats sets the shown ESP counters back to zero.
func (d *Dataplane) ClearIPsecStats(ctx context.Context) error {
	if d == nil {
		return errNoDataplane
	}
	return d.vpn.ClearStatistics(ctx)
}

// current is the running ruleset's compiled form (nil before the first commit).
func (d *Dataplane) current() *policy.Compiled {
	if in := d.running(); in != nil {
		return in.Firewall
	}
	return nil
}

// PolicyHits reads the policies' counters.
func (d *Dataplane) PolicyHits(ctx context.Context) ([]cli.PolicyHit, error) {
	if d == nil {
		return nil, errNoDataplane
	}
	comp := d.current()
	if comp == nil {
		return nil, nil
	}
	hits, err := policy.HitCounts(ctx, d.nft, comp)
	if err != nil {
		return nil, err
	}
	out := make([]cli.PolicyHit, 0, len(comp.Policies))
	for _, p := range comp.Policies {
		out = append(out, cli.PolicyHit{From: p.From, To: p.To, Name: p.Name, Count: hits[p.Index].Packets})
	}
	return out, nil
}

func (d *Dataplane) conntrack() (*mdnetlink.Conn, error) { return policy.DialConntrack(-1) }

// FlowSessions lists the kernel's sessions with the policy that made them.
func (d *Dataplane) FlowSessions(_ context.Context) ([]cli.FlowSession, error) {
	if d == nil {
		return nil, errNoDataplane
	}
	c, err := d.conntrack()
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ss, err := policy.Sessions(c)
	if err != nil {
		return nil, err
	}
	ifOf := policy.RouteInterfaces(d.h, nil)
	comp := d.current()
	out := make([]cli.FlowSession, 0, len(ss))
	for _, s := range ss {
		if comp == nil {
			break
		}
		p, ok := comp.PolicyByMark(s.Mark)
		if !ok {
			continue // the box's own traffic, or a session of a policy since removed
		}
		proto := policy.ProtocolName(s.Proto)
		out = append(out, cli.FlowSession{
			ID: uint64(s.ID), Policy: p.Name, PolicyIndex: p.Index, Timeout: int(s.Timeout),
			In: cli.FlowWing{Src: s.In.Src, Dst: s.In.Dst, SrcPort: s.In.SrcPort, DstPort: s.In.DstPort, Proto: proto,
				Interface: ifOf(s.In.Src), Packets: s.InPackets, Bytes: s.InBytes},
			Out: cli.FlowWing{Src: s.Out.Src, Dst: s.Out.Dst, SrcPort: s.Out.SrcPort, DstPort: s.Out.DstPort, Proto: proto,
				Interface: ifOf(s.Out.Src), Packets: s.OutPackets, Bytes: s.OutBytes},
		})
	}
	return out, nil
}

// WatchSessions logs `then log session-close` lines until ctx ends.
func (d *Dataplane) WatchSessions(ctx context.Context) error {
	c, err := d.conntrack()
	if err != nil {
		return err
	}
	defer c.Close()
	return policy.WatchClosedSessions(ctx, c, func(s policy.Session) {
		if comp := d.current(); comp != nil {
			if line, ok := policy.SessionCloseLog(s, comp); ok {
				d.log.Info(line)
			}
		}
	}, func(err error) { d.log.Warn("session-close log", "err", err) })
}

// ClearFlowSessions deletes every session.
func (d *Dataplane) ClearFlowSessions(context.Context) error {
	if d == nil {
		return errNoDataplane
	}
	c, err := d.conntrack()
	if err != nil {
		return err
	}
	defer c.Close()
	return policy.ClearSessions(c)
}

// IKESAs lists the IKE SAs of both versions.
func (d *Dataplane) IKESAs(ctx context.Context) ([]cli.IKESA, error) {
	if d == nil {
		return nil, errNoDataplane
	}
	ikes, err := d.vpn.IKESecurityAssociations(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the IKE SAs: %w", err)
	}
	out := make([]cli.IKESA, 0, len(ikes))
	for _, s := range ikes {
		mode := "Main"
		if s.Version == 2 {
			mode = "IKEv2"
		}
		sa := ikeSA(s.Algorithms, s.InitiatorCookie, s.ResponderCookie, mode)
		sa.Index, sa.Up, sa.Remote, sa.Local, sa.Gateway, sa.Initiator = s.Index, s.Up, s.Remote, s.Local, s.Gateway, s.Initiator
		sa.Expires, sa.PeerID = s.ExpiresIn, peerID(s.PeerID)
		sa.InBytes, sa.OutBytes, sa.InPackets, sa.OutPackets = s.InBytes, s.OutBytes, s.InPackets, s.OutPackets
		sa.IPsecCreated, sa.IPsecDeleted, sa.Phase2Pending = s.ChildrenCreated, s.ChildrenDeleted, s.NegotiationsInProgress
		out = append(out, sa)
	}
	return out, nil
}

// peerID shows an address identity as Junos's `Peer ike-id:` does, the bare
// address: "ipv4(any:0,[0..3]=172.16.23.1)" is "172.16.23.1".
func peerID(id string) string {
	if i := strings.LastIndex(id, "]="); i >= 0 && strings.HasPrefix(id, "ipv4(") && strings.HasSuffix(id, ")") {
		return id[i+2 : len(id)-1]
	}
	return id
}

// ikeSA fills what both IKE versions name alike.
func ikeSA(alg seam.Algorithms, icookie, rcookie, mode string) cli.IKESA {
	ic, _ := strconv.ParseUint(icookie, 16, 64)
	rc, _ := strconv.ParseUint(rcookie, 16, 64)
	group, _ := strconv.Atoi(strings.TrimPrefix(alg.DHGroup, "DH-group-"))
	return cli.IKESA{InitiatorCookie: ic, ResponderCookie: rc, Mode: mode, AuthMethod: "Pre-shared-keys",
		Auth: alg.Authentication, Encryption: alg.Encryption, PRF: alg.PRF, DHGroup: group}
}

// IPsecSAs lists the IPsec SA pairs.
func (d *Dataplane) IPsecSAs(ctx context.Context, active *config.Config) ([]cli.IPsecSA, error) {
	if d == nil {
		return nil, errNoDataplane
	}
	sas, err := d.vpn.IPsecSecurityAssociations(ctx)
	if err != nil {
		return nil, err
	}
	// The IKE SAs only add a line to the tunnel events: without them the
	// listing is still right.
	ikeUp, err := d.ikeEstablished(ctx)
	if err != nil {
		d.log.Warn("IPsec SA listing without the IKE SA events", "err", err)
	}
	out := make([]cli.IPsecSA, 0, len(sas))
	for _, s := range sas {
		alg := vpn.ESPAlgorithmNames(s.SA.Suite)
		enc, auth, _ := strings.Cut(strings.TrimPrefix(alg.List, "ESP:"), "/")
		if auth == "None" {
			auth = ""
		}
		df := config.DefaultDFBit
		if v := active.IPsecVPN(s.SA.Tunnel.Name); v != nil && v.DFBit != "" {
			df = v.DFBit
		}
		sa := cli.IPsecSA{
			ID: s.ID, VPN: s.SA.Tunnel.Name, Policy: s.SA.Tunnel.Policy, Version: ikeVersion(active, s.SA.Peer),
			Local: s.SA.Local, Remote: s.SA.Remote, Port: int(s.Port),
			LocalID: s.SA.Tunnel.Local, RemoteID: s.SA.Tunnel.Remote,
			Encryption: enc, EncBits: s.SA.Suite.KeyBits, Auth: auth, AuthLong: strings.ReplaceAll(alg.Authentication, "None", ""),
			DFBit: df, Lifetime: s.ExpiresIn, SoftLife: s.ExpiresIn * 9 / 10, LifeKB: s.SA.LifetimeKB, ReplayWin: config.DefaultIPsecReplayWindow,
			Negotiation: 1, In: cli.SA{SPI: s.SA.SPIIn}, Out: cli.SA{SPI: s.SA.SPIOut},
			Events: []cli.TunnelEvent{{Time: s.Established, Text: "IPSec SA negotiation successfully completed", Count: 1}},
		}
		// Junos lists the events newest first; the IKE SA that carried the
		// negotiation comes below it, unless it was rekeyed since.
		if t, ok := ikeUp[s.SA.Peer]; ok {
			sa.Events = append(sa.Events, cli.TunnelEvent{Time: t, Text: "IKE SA negotiation successfully completed", Count: 1})
			slices.SortStableFunc(sa.Events, func(a, b cli.TunnelEvent) int { return b.Time.Compare(a.Time) })
		}
		out = append(out, sa)
	}
	return out, nil
}

// ikeEstablished returns, per gateway, when its newest authenticated IKE SA
// (of either version) was established.
func (d *Dataplane) ikeEstablished(ctx context.Context) (map[string]time.Time, error) {
	ikes, err := d.vpn.IKESecurityAssociations(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the IKE SAs: %w", err)
	}
	out := map[string]time.Time{}
	note := func(gw string, t time.Time) {
		if !t.IsZero() && t.After(out[gw]) {
			out[gw] = t
		}
	}
	for _, s := range ikes {
		note(s.Gateway, s.Established)
	}
	return out, nil
}

// ikeVersion names the IKE version a gateway speaks, for the SA listing.
func ikeVersion(c *config.Config, gateway string) string {
	if g := c.IKEGateway(gateway); g != nil && g.Version == "v2-only" {
		return "IKEv2"
	}
	return "IKEv1"
}

// IPsecStats sums or reads one SA pair's counters.
func (d *Dataplane) IPsecStats(ctx context.Context, index int) (cli.IPsecStats, error) {
	if d == nil {
		return cli.IPsecStats{}, errNoDataplane
	}
	st, err := d.vpn.Statistics(ctx, index)
	if err != nil {
		return cli.IPsecStats{}, err
	}
	return cli.IPsecStats{EncryptedBytes: st.EncryptedBytes, DecryptedBytes: st.DecryptedBytes,
		EncryptedPackets: st.EncryptedPackets, DecryptedPackets: st.DecryptedPackets,
		ReplayErrors: st.ReplayErrors, ESPAuthFailures: st.AuthFailures}, nil
}
