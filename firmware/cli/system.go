package cli

import (
	"context"
	"io"
	"net/netip"
	"time"

	"github.com/palisade/palisade/firmware/config"
)

// System is everything the CLI needs from the box. The init implements it
// over the store, the commit pipeline and the kernel; tests use a fake.
//
// Methods that return operational data are called once per command and
// should return promptly; Ping, Traceroute and MonitorTraffic stream to out
// until they finish or ctx is cancelled (Ctrl-C), and must return soon after
// ctx is done.
type System interface {
	// Active returns the running configuration. The CLI never modifies it.
	Active() *config.Config
	// Commit validates, compiles and applies cand and persists it as
	// rollback 0. With opts.Check it only validates and compiles. It
	// returns the warnings of a successful commit; on failure the previous
	// configuration stays running and the error says why, naming the
	// statement (a *config.Problem or an errors.Join of them).
	// opts.ConfirmMinutes > 0 arms an automatic rollback unless a later
	// Commit arrives in time; the System announces that rollback itself.
	Commit(ctx context.Context, cand *config.Config, opts CommitOptions) (warnings []*config.Problem, err error)
	// Rollback returns stored configuration n (0 is the active one).
	Rollback(n int) (*config.Config, error)
	// RescueSave stores the active configuration as the rescue configuration.
	RescueSave(ctx context.Context) error
	// ReadFile reads a file for `load merge|override FILE`.
	ReadFile(name string) ([]byte, error)

	// Uptime returns the clock and boot times for `show system uptime`.
	Uptime(ctx context.Context) (Uptime, error)
	// Version returns what `show version` prints.
	Version(ctx context.Context) (Version, error)
	// Storage returns the mounted filesystems for `show system storage`.
	Storage(ctx context.Context) ([]Filesystem, error)
	// Memory returns what `show system memory` prints.
	Memory(ctx context.Context) (Memory, error)
	// LogMessages returns the lines of the messages log, oldest first.
	LogMessages(ctx context.Context) ([]string, error)
	// SoftwareState renders `show system software`: both firmware slots,
	// their versions, which one runs and which boots next.
	SoftwareState(ctx context.Context) (string, error)
	// SoftwareAdd writes a firmware bundle (file or URL) into the inactive
	// slot, verifies it (and its sha256 when given) and arms a one-shot
	// trial boot of it. It returns the new version and slot.
	SoftwareAdd(ctx context.Context, source, sha256 string) (version, slot string, err error)
	// SoftwareRollback makes the other slot the default again.
	SoftwareRollback(ctx context.Context) (slot string, err error)
	// Reboot and PowerOff are called after the user confirmed.
	Reboot(ctx context.Context) error
	PowerOff(ctx context.Context) error

	// Ping writes its progress to out, one line at a time, as ping(8).
	Ping(ctx context.Context, req PingRequest, out io.Writer) error
	// Traceroute writes the hops to req.Host to out as they answer, in the
	// layout of traceroute(8): a header line, then one line per hop.
	Traceroute(ctx context.Context, req TracerouteRequest, out io.Writer) error
	// MonitorTraffic prints packets seen on iface, tcpdump style, until ctx
	// is cancelled.
	MonitorTraffic(ctx context.Context, iface string, out io.Writer) error

	Interfaces(ctx context.Context) ([]InterfaceRow, error)
	Routes(ctx context.Context) ([]Route, error)
	// PolicyHits returns the hit counts of the active security policies.
	// Policies without an entry show 0.
	PolicyHits(ctx context.Context) ([]PolicyHit, error)
	FlowSessions(ctx context.Context) ([]FlowSession, error)
	ClearFlowSessions(ctx context.Context) error
	IKESAs(ctx context.Context) ([]IKESA, error)
	// IKEWaiting lists the gateways whose local address is not on the
	// box (a missing port, or one without its address yet).
	IKEWaiting(ctx context.Context) ([]IKEWaiting, error)
	ClearIKESAs(ctx context.Context) error
	IPsecSAs(ctx context.Context) ([]IPsecSA, error)
	ClearIPsecSAs(ctx context.Context) error
	// IPsecStats returns the counters of one SA pair by ID, or the sum over
	// all when index is 0.
	IPsecStats(ctx context.Context, index int) (IPsecStats, error)
	ClearIPsecStats(ctx context.Context) error
}

// CommitOptions select the kind of commit.
type CommitOptions struct {
	Check          bool   // validate and compile only
	Comment        string // stored with the rollback
	ConfirmMinutes int    // > 0: roll back unless confirmed within this many minutes
	User           string // who commits
}

// Memory is the data of `show system memory`: the kernel's totals and the
// firmware's own resident size, now and at its peak (the figure a flood
// against the box is judged by).
type Memory struct {
	TotalKB, AvailableKB, FreeKB int64
	// The firmware (PID 1) itself.
	RSSKB, PeakRSSKB int64
	// GoHeapKB is what the Go runtime holds for the heap.
	GoHeapKB int64
}

// IKEWaiting is a gateway waiting for its interface.
type IKEWaiting struct {
	Gateway   string
	Interface string // external-interface, e.g. ge-0/0/1
	Local     netip.Addr
}

// Uptime is the data of `show system uptime`.
type Uptime struct {
	Now            time.Time
	Booted         time.Time
	LastConfigured time.Time // zero when never configured
	ConfiguredBy   string
	Users          int
	Load           [3]float64
}

// Version is `show version`: the board stands where Junos names the model,
// the firmware where it names the Junos release.
type Version struct {
	Board    string // qemu-x86_64
	Arch     string // amd64
	Firmware string // the running version, "dev" for a build without one
	Slot     string // the firmware slot it booted from, "" without slots
	Kernel   string // the Linux release
}

// Filesystem is one line of `show system storage`, sizes in bytes.
type Filesystem struct {
	Name, MountedOn   string
	Size, Used, Avail uint64
}

// PingRequest are the arguments of `ping`.
type PingRequest struct {
	Host   string
	Count  int        // 0: until Ctrl-C
	Source netip.Addr // invalid: chosen by the kernel
}

// TracerouteRequest are the arguments of `traceroute`. Addresses print
// numerically: the box has no resolver to ask for names.
type TracerouteRequest struct {
	Host   string
	Source netip.Addr    // invalid: chosen by the kernel
	MaxTTL int           // the last hop probed; 0: 30
	Wait   time.Duration // for the answer to each probe; 0: 5s
}

// InterfaceRow is one physical or logical interface of
// `show interfaces terse`.
type InterfaceRow struct {
	Name   string // ge-0/0/0 or ge-0/0/0.0
	Admin  bool
	Link   bool
	Proto  string   // inet, or empty for a physical interface
	Local  []string // addresses with prefix length
	Remote string
}

// Route is one route of `show route`.
type Route struct {
	Destination netip.Prefix
	Protocol    string // Static, Direct, Local
	Preference  int
	Age         time.Duration
	Active      bool
	NextHop     netip.Addr // invalid for Direct and Local routes
	Interface   string     // ge-0/0/1.0
}

// PolicyHit is the hit count of one security policy.
type PolicyHit struct {
	From, To, Name string // From and To are empty for global policies
	Count          uint64
}

// FlowSession is one session of `show security flow session`.
type FlowSession struct {
	ID          uint64
	Policy      string
	PolicyIndex int
	Timeout     int // seconds
	In, Out     FlowWing
}

// FlowWing is one direction of a session.
type FlowWing struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16 // ICMP: the id
	Proto            string // icmp, tcp, udp, ...
	ConnTag          uint32
	Interface        string
	Packets, Bytes   uint64
}

// IKESA is one IKE security association.
type IKESA struct {
	Index           uint32
	Up              bool
	InitiatorCookie uint64
	ResponderCookie uint64
	Mode            string // Main, Aggressive, IKEv2
	Remote          netip.AddrPort
	Local           netip.AddrPort
	Gateway         string
	Initiator       bool
	AuthMethod      string // Pre-shared-keys
	Expires         time.Duration
	PeerID          string
	Auth            string // hmac-sha256-128
	Encryption      string // aes256-cbc
	PRF             string // hmac-sha256
	DHGroup         int
	InBytes         uint64
	OutBytes        uint64
	InPackets       uint64
	OutPackets      uint64
	IPsecCreated    int
	IPsecDeleted    int
	Phase2Pending   int
}

// IPsecSA is an inbound/outbound pair of IPsec SAs sharing an ID.
type IPsecSA struct {
	ID          int
	VPN         string
	Policy      string // tunnel policy name
	Version     string // IKEv1, IKEv2
	Local       netip.Addr
	Remote      netip.Addr
	Port        int // 500, or 4500 with NAT traversal
	LocalID     netip.Prefix
	RemoteID    netip.Prefix
	Encryption  string // aes-cbc-128, aes-gcm-128
	EncBits     int
	Auth        string // sha1, or empty for AEAD ciphers
	AuthLong    string // hmac-sha1-96
	DFBit       string // clear, set, copy
	Lifetime    time.Duration
	SoftLife    time.Duration
	LifeKB      uint64 // 0: unlimited
	ReplayWin   int
	Negotiation int
	Failures    int
	Events      []TunnelEvent // newest first
	In, Out     SA
}

// SA is one direction of an IPsec SA pair.
type SA struct {
	SPI uint32
}

// TunnelEvent is one line of the tunnel event history.
type TunnelEvent struct {
	Time  time.Time
	Text  string
	Count int
}

// IPsecStats are the ESP and AH counters of `show security ipsec statistics`.
type IPsecStats struct {
	EncryptedBytes, DecryptedBytes     uint64
	EncryptedPackets, DecryptedPackets uint64
	AHInBytes, AHOutBytes              uint64
	AHInPackets, AHOutPackets          uint64
	AHAuthFailures, ReplayErrors       uint64
	ESPAuthFailures, ESPDecryptFails   uint64
	BadHeaders, BadTrailers            uint64
}
