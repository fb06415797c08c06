package config

// The configuration tree. Each field's `junos` tag gives its keyword and its
// kind, and the schema (schema.go) is read from these types, so the set parser,
// the brace renderer, the CBOR codec and the CLI's completion all follow the
// same tree and cannot disagree. Tag grammar:
//
//	junos:"keyword[,opt...]"
//
// Options:
//
//	key          the field is (one of) the list element's keys
//	positional   the value may follow the key without its keyword (address NAME PREFIX)
//	secret       masked in every display unless secrets are asked for
//	flag         a bool that is present or absent (then count)
//	presence     a container that means something even when empty (then permit)
//	bare         a list whose entries follow the parent without a keyword (interfaces ge-0/0/0)
//	ordered      list order is meaningful (policies): insert before/after applies
//	choice=NAME  setting this member clears its siblings of the same choice
//	type=T       value type: name, ifname, ifunit, iface, prefix, hostprefix, addr, port, portrange, uint
//	range=A-B    numeric range for type=uint
//	enum=a|b|c   allowed values
//	help=TEXT    one line of help for the CLI's "?"
//
// Containers are pointers (nil means absent); lists are slices of structs.

// Config is the whole configuration of one box.
type Config struct {
	System         *System         `junos:"system,help=System parameters"`
	Interfaces     *Interfaces     `junos:"interfaces,help=Interface configuration"`
	RoutingOptions *RoutingOptions `junos:"routing-options,help=Protocol-independent routing options"`
	Security       *Security       `junos:"security,help=Security configuration"`
	Applications   *Applications   `junos:"applications,help=Define applications by protocol characteristics"`
}

// System holds host-wide settings.
type System struct {
	HostName           string              `junos:"host-name,type=hostname,help=Hostname for this router"`
	RootAuthentication *RootAuthentication `junos:"root-authentication,help=Authentication information for the root login"`
	Services           *Services           `junos:"services,help=System services"`
	Syslog             *Syslog             `junos:"syslog,help=System logging facility"`
}

// RootAuthentication is the root login's password and keys.
type RootAuthentication struct {
	EncryptedPassword string   `junos:"encrypted-password,secret,type=crypt,choice=pw,help=Crypted password string"`
	PlainTextPassword string   `junos:"plain-text-password,secret,choice=pw,help=Plain text password (hashed at commit)"`
	SSHEd25519        []string `junos:"ssh-ed25519,help=Secure shell (ssh) ed25519 public key string"`
	SSHRSA            []string `junos:"ssh-rsa,help=Secure shell (ssh) RSA public key string"`
}

// Services are the box's own network services.
type Services struct {
	SSH *SSHService `junos:"ssh,help=Allow ssh access"`
}

// SSHService configures the SSH server.
type SSHService struct {
	RootLogin string `junos:"root-login,enum=allow|deny|deny-password,help=Configure root access via ssh"`
	Port      string `junos:"port,type=uint,range=1-65535,help=Port number to accept incoming connections"`
}

// Syslog sends log lines to remote hosts.
type Syslog struct {
	Hosts []SyslogHost `junos:"host,help=Host to be notified"`
}

// SyslogHost is one remote syslog destination.
type SyslogHost struct {
	Address string `junos:"host,key,type=addr"`
	Any     string `junos:"any,enum=any|emergency|alert|critical|error|warning|notice|info|none,help=All facilities"`
	Port    string `junos:"port,type=uint,range=1-65535,help=Port number"`
}

// Interfaces lists the physical ports.
type Interfaces struct {
	Interfaces []Interface `junos:"interface,bare,help=Physical interface"`
}

// Interface is one ge-X/Y/Z port.
type Interface struct {
	Name        string `junos:"interface,key,type=ifname"`
	Description string `junos:"description,help=Text description of interface"`
	Disable     bool   `junos:"disable,flag,help=Disable this interface"`
	MTU         string `junos:"mtu,type=uint,range=256-9192,help=Maximum transmission unit packet size"`
	Units       []Unit `junos:"unit,help=Logical interface"`
}

// Unit is a logical interface.
type Unit struct {
	Number string  `junos:"unit,key,type=uint,range=0-16385"`
	Family *Family `junos:"family,help=Protocol family"`
}

// Family holds the protocol families of a unit.
type Family struct {
	Inet *Inet `junos:"inet,help=IPv4 parameters"`
}

// Inet holds a unit's IPv4 addresses.
type Inet struct {
	Addresses []InetAddress `junos:"address,help=Interface address/destination prefix"`
}

// InetAddress is one address with its prefix length.
type InetAddress struct {
	Prefix string `junos:"address,key,type=hostprefix"`
}

// RoutingOptions holds static routes.
type RoutingOptions struct {
	Static *Static `junos:"static,help=Static routes"`
}

// Static lists static routes.
type Static struct {
	Routes []Route `junos:"route,help=Static route"`
}

// Route is one static route.
type Route struct {
	Prefix     string   `junos:"route,key,type=prefix"`
	NextHop    []string `junos:"next-hop,type=addr,choice=nh,help=Next hop to destination"`
	Discard    bool     `junos:"discard,flag,choice=nh,help=Drop packets to destination; send no ICMP unreachables"`
	Preference string   `junos:"preference,type=uint,range=0-4294967295,help=Preference value"`
}

// Security holds zones, policies, IKE and IPsec.
type Security struct {
	IKE          *IKE          `junos:"ike,help=IKE configuration"`
	IPsec        *IPsec        `junos:"ipsec,help=IPSec configuration"`
	AddressBooks []AddressBook `junos:"address-book,help=Security address book"`
	Flow         *Flow         `junos:"flow,help=FLOW configuration"`
	Policies     *Policies     `junos:"policies,help=Configure Network Security Policies"`
	Zones        *Zones        `junos:"zones,help=Zone configuration"`
}

// Zones lists the security zones.
type Zones struct {
	Zones []Zone `junos:"security-zone,help=Security zones"`
}

// Zone is one security zone.
type Zone struct {
	Name               string              `junos:"security-zone,key,type=name"`
	Description        string              `junos:"description,help=Text description of zone"`
	HostInboundTraffic *HostInboundTraffic `junos:"host-inbound-traffic,help=Allowed system services & protocols"`
	Interfaces         []ZoneInterface     `junos:"interfaces,help=Interfaces that are part of this zone"`
}

// ZoneInterface binds a logical interface to a zone.
type ZoneInterface struct {
	Name               string              `junos:"interfaces,key,type=ifunit"`
	HostInboundTraffic *HostInboundTraffic `junos:"host-inbound-traffic,help=Allowed system services & protocols"`
}

// HostInboundTraffic lists what may reach the box itself.
type HostInboundTraffic struct {
	SystemServices []HostInboundItem `junos:"system-services,help=Type of incoming system-service traffic to accept"`
	Protocols      []HostInboundItem `junos:"protocols,help=Protocol type of incoming traffic to accept"`
}

// HostInboundItem is one service or protocol, or `all`, optionally excepted.
type HostInboundItem struct {
	Name   string `junos:"name,key,type=name"`
	Except bool   `junos:"except,flag,help=Disallow the specified service or protocol"`
}

// AddressBook is the global book or a named one attached to zones.
type AddressBook struct {
	Name        string       `junos:"address-book,key,type=name"`
	Addresses   []Address    `junos:"address,help=Define a security address"`
	AddressSets []AddressSet `junos:"address-set,help=Define a security address set"`
	Attach      *Attach      `junos:"attach,help=Attach the address book to zones"`
}

// Address names a prefix.
type Address struct {
	Name   string `junos:"address,key,type=name"`
	Prefix string `junos:"ip-prefix,positional,type=prefix,help=Numeric IPv4 or IPv6 address with prefix"`
}

// AddressSet groups addresses and other sets.
type AddressSet struct {
	Name        string   `junos:"address-set,key,type=name"`
	Addresses   []string `junos:"address,type=name,help=Addresses to be included in this set"`
	AddressSets []string `junos:"address-set,type=name,help=Address sets to be included in this set"`
}

// Attach lists the zones a book serves.
type Attach struct {
	Zones []string `junos:"zone,type=name,help=Security zone"`
}

// Flow holds flow options.
type Flow struct {
	TCPMSS *TCPMSS `junos:"tcp-mss,help=TCP maximum segment size configuration"`
}

// TCPMSS clamps the MSS of TCP SYNs.
type TCPMSS struct {
	IPsecVPN *MSSValue `junos:"ipsec-vpn,help=Enable MSS override for all packets entering IPSec tunnel"`
	AllTCP   *MSSValue `junos:"all-tcp,help=Enable MSS override for all TCP packets"`
}

// MSSValue is an MSS in bytes.
type MSSValue struct {
	MSS string `junos:"mss,type=uint,range=64-65535,help=MSS value"`
}

// Policies holds the zone-pair and global security policies.
type Policies struct {
	ZonePairs     []ZonePair     `junos:"from-zone,help=Define a policy context from this zone"`
	Global        *GlobalPolicy  `junos:"global,help=Define a global policy context"`
	DefaultPolicy *DefaultPolicy `junos:"default-policy,help=Configure default action when no user-defined policy match"`
}

// ZonePair is the ordered policy list of one (from, to) pair.
type ZonePair struct {
	From     string   `junos:"from-zone,key,type=name"`
	To       string   `junos:"to-zone,key,type=name"`
	Policies []Policy `junos:"policy,ordered,help=Define a security policy"`
}

// GlobalPolicy holds policies that apply to every zone pair.
type GlobalPolicy struct {
	Policies []Policy `junos:"policy,ordered,help=Define a security policy"`
}

// DefaultPolicy is the verdict when no policy matches.
type DefaultPolicy struct {
	DenyAll   bool `junos:"deny-all,flag,choice=dp,help=Deny all traffic if no policy match"`
	PermitAll bool `junos:"permit-all,flag,choice=dp,help=Permit all traffic if no policy match"`
}

// Policy is one security policy.
type Policy struct {
	Name  string       `junos:"policy,key,type=name"`
	Match *PolicyMatch `junos:"match,help=Specify security policy match-criteria"`
	Then  *PolicyThen  `junos:"then,help=Specify policy action to take when packet match criteria"`
}

// PolicyMatch are a policy's match criteria.
type PolicyMatch struct {
	SourceAddress      []string `junos:"source-address,type=name,help=Match IP source address"`
	DestinationAddress []string `junos:"destination-address,type=name,help=Match IP destination address"`
	Application        []string `junos:"application,type=name,help=Port-based application"`
	FromZone           []string `junos:"from-zone,type=name,help=Match multiple source zones (global policies)"`
	ToZone             []string `junos:"to-zone,type=name,help=Match multiple destination zones (global policies)"`
}

// PolicyThen is a policy's action.
type PolicyThen struct {
	Permit *Permit    `junos:"permit,presence,choice=action,help=Permit packets"`
	Deny   bool       `junos:"deny,flag,choice=action,help=Deny packets"`
	Reject bool       `junos:"reject,flag,choice=action,help=Reject packets"`
	Count  bool       `junos:"count,flag,help=Enable count"`
	Log    *PolicyLog `junos:"log,help=Enable log"`
}

// Permit is the permit action, optionally into a tunnel.
type Permit struct {
	Tunnel *Tunnel `junos:"tunnel,presence,help=Tunneling packets"`
}

// Tunnel names the VPN a permit sends traffic into.
type Tunnel struct {
	IPsecVPN string `junos:"ipsec-vpn,type=name,help=Enable IPSec VPN tunneling"`
}

// PolicyLog selects session log lines.
type PolicyLog struct {
	SessionInit  bool `junos:"session-init,flag,help=Log session init time"`
	SessionClose bool `junos:"session-close,flag,help=Log session close time"`
}

// Applications holds custom applications and sets.
type Applications struct {
	Applications    []Application    `junos:"application,help=Define an application"`
	ApplicationSets []ApplicationSet `junos:"application-set,help=Define an application set"`
}

// Application matches traffic by protocol and ports.
type Application struct {
	Name              string `junos:"application,key,type=name"`
	Protocol          string `junos:"protocol,enum=tcp|udp|icmp|esp|ah|gre|ospf|sctp|0-255,help=Match IP protocol type"`
	SourcePort        string `junos:"source-port,type=portrange,help=Match TCP/UDP source port"`
	DestinationPort   string `junos:"destination-port,type=portrange,help=Match TCP/UDP destination port"`
	ICMPType          string `junos:"icmp-type,type=uint,range=0-255,help=Match ICMP message type"`
	InactivityTimeout string `junos:"inactivity-timeout,type=uint,range=4-86400,help=Application-specific inactivity timeout (seconds)"`
}

// ApplicationSet groups applications.
type ApplicationSet struct {
	Name            string   `junos:"application-set,key,type=name"`
	Applications    []string `junos:"application,type=name,help=Application to be included in the set"`
	ApplicationSets []string `junos:"application-set,type=name,help=Application-set to be included in the set"`
}

// IKE holds phase-1 proposals, policies and gateways.
type IKE struct {
	Proposals []IKEProposal `junos:"proposal,help=Define an IKE proposal"`
	Policies  []IKEPolicy   `junos:"policy,help=Define an IKE policy"`
	Gateways  []IKEGateway  `junos:"gateway,help=Define an IKE gateway"`
}

// IKEProposal is a custom phase-1 proposal.
type IKEProposal struct {
	Name                    string `junos:"proposal,key,type=name"`
	Description             string `junos:"description,help=Text description of IKE proposal"`
	AuthenticationMethod    string `junos:"authentication-method,enum=pre-shared-keys,help=Define authentication method"`
	DHGroup                 string `junos:"dh-group,enum=group2|group5|group14|group15|group16|group19|group20|group21|group31,help=Define Diffie-Hellman group"`
	AuthenticationAlgorithm string `junos:"authentication-algorithm,enum=sha1|sha-256|sha-384|sha-512,help=Define authentication algorithm"`
	EncryptionAlgorithm     string `junos:"encryption-algorithm,enum=3des-cbc|aes-128-cbc|aes-192-cbc|aes-256-cbc|aes-128-gcm|aes-256-gcm|chacha20-poly1305,help=Define encryption algorithm"`
	LifetimeSeconds         string `junos:"lifetime-seconds,type=uint,range=180-86400,help=Lifetime, in seconds"`
}

// IKEPolicy ties proposals and a pre-shared key.
type IKEPolicy struct {
	Name         string        `junos:"policy,key,type=name"`
	Mode         string        `junos:"mode,enum=main|aggressive,help=Define an IKE mode for Phase 1 negotiation"`
	Proposals    []string      `junos:"proposals,type=name,choice=props,help=Name of the proposal"`
	ProposalSet  string        `junos:"proposal-set,enum=basic|compatible|standard|suiteb-gcm-128|suiteb-gcm-256|prime-128|prime-256,choice=props,help=Types of default IKE proposal-set"`
	PreSharedKey *PreSharedKey `junos:"pre-shared-key,help=Define a preshared key"`
}

// PreSharedKey is the phase-1 secret.
type PreSharedKey struct {
	ASCIIText   string `junos:"ascii-text,secret,choice=psk,help=Format as text"`
	Hexadecimal string `junos:"hexadecimal,secret,type=hex,choice=psk,help=Format as hexadecimal"`
}

// IKEGateway is one IKE peer.
type IKEGateway struct {
	Name              string             `junos:"gateway,key,type=name"`
	IKEPolicy         string             `junos:"ike-policy,type=name,help=Name of the IKE policy"`
	Address           []string           `junos:"address,type=addr,help=Addresses or hostnames of peer:1 primary, upto 4 backups"`
	ExternalInterface string             `junos:"external-interface,type=iface,help=External interface for IKE negotiations"`
	Version           string             `junos:"version,enum=v1-only|v2-only,help=Negotiate using either IKE v1 or IKE v2 protocol"`
	DeadPeerDetection *DeadPeerDetection `junos:"dead-peer-detection,help=Enable Dead Peer Detection"`
	LocalIdentity     *Identity          `junos:"local-identity,help=Set the local IKE identity"`
	RemoteIdentity    *Identity          `junos:"remote-identity,help=Set the remote IKE identity"`
	NATKeepalive      string             `junos:"nat-keepalive,type=uint,range=1-300,help=Interval at which to send NAT keepalives (seconds)"`
	NoNATTraversal    bool               `junos:"no-nat-traversal,flag,help=Disable IPSec NAT traversal"`
}

// DeadPeerDetection configures DPD.
type DeadPeerDetection struct {
	Interval  string `junos:"interval,type=uint,range=2-120,help=The interval at which to send DPD messages"`
	Threshold string `junos:"threshold,type=uint,range=1-5,help=Maximum number of DPD retransmissions"`
	Mode      string `junos:"mode,enum=optimized|probe-idle-tunnel|always-send,help=DPD mode"`
}

// Identity is an IKE identity.
type Identity struct {
	InetAddress    string `junos:"inet,type=addr,choice=id,help=Use an IPv4 address"`
	Hostname       string `junos:"hostname,choice=id,help=Use a fully-qualified domain name"`
	UserAtHostname string `junos:"user-at-hostname,choice=id,help=Use an e-mail address"`
}

// IPsec holds phase-2 proposals, policies and VPNs.
type IPsec struct {
	Proposals []IPsecProposal `junos:"proposal,help=Define an IPSec proposal"`
	Policies  []IPsecPolicy   `junos:"policy,help=Define an IPSec policy"`
	VPNs      []IPsecVPN      `junos:"vpn,help=Define an IPSec VPN"`
}

// IPsecProposal is a custom phase-2 proposal.
type IPsecProposal struct {
	Name                    string `junos:"proposal,key,type=name"`
	Description             string `junos:"description,help=Text description of IPSec proposal"`
	Protocol                string `junos:"protocol,enum=esp,help=Define an IPSec protocol for the proposal"`
	AuthenticationAlgorithm string `junos:"authentication-algorithm,enum=hmac-sha1-96|hmac-sha-256-128|hmac-sha-384-192|hmac-sha-512-256,help=Define authentication algorithm"`
	EncryptionAlgorithm     string `junos:"encryption-algorithm,enum=3des-cbc|aes-128-cbc|aes-192-cbc|aes-256-cbc|aes-128-gcm|aes-256-gcm|chacha20-poly1305,help=Define encryption algorithm"`
	LifetimeSeconds         string `junos:"lifetime-seconds,type=uint,range=180-86400,help=Lifetime, in seconds"`
	LifetimeKilobytes       string `junos:"lifetime-kilobytes,type=uint,range=64-4294967294,help=Lifetime, in kilobytes"`
}

// IPsecPolicy ties phase-2 proposals and PFS.
type IPsecPolicy struct {
	Name                  string   `junos:"policy,key,type=name"`
	Proposals             []string `junos:"proposals,type=name,choice=props,help=Name of the proposal"`
	ProposalSet           string   `junos:"proposal-set,enum=basic|compatible|standard|suiteb-gcm-128|suiteb-gcm-256|prime-128|prime-256,choice=props,help=Types of default IPSec proposal-set"`
	PerfectForwardSecrecy *PFS     `junos:"perfect-forward-secrecy,help=Define perfect forward secrecy"`
}

// PFS selects the quick-mode DH group.
type PFS struct {
	Keys string `junos:"keys,enum=group2|group5|group14|group15|group16|group19|group20|group21|group31,help=Define Diffie-Hellman group"`
}

// IPsecVPN is one VPN, used by tunnel policies.
type IPsecVPN struct {
	Name             string  `junos:"vpn,key,type=name"`
	IKE              *VPNIKE `junos:"ike,help=IKE-keyed IPSec"`
	EstablishTunnels string  `junos:"establish-tunnels,enum=immediately|on-traffic,help=Define the criteria to establish tunnels"`
	DFBit            string  `junos:"df-bit,enum=clear|set|copy,help=Specifies how to handle the Don't Fragment bit"`
}

// VPNIKE names the gateway and the phase-2 policy of a VPN.
type VPNIKE struct {
	Gateway     string `junos:"gateway,type=name,help=Name of remote gateway"`
	IPsecPolicy string `junos:"ipsec-policy,type=name,help=Name of the IPSec policy"`
}
