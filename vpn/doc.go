// Package vpn is Palisade's IPsec VPN service. Compile turns a validated
// configuration and the tunnel policies' selectors (from policy) into an
// Intent: each local address's IKE peers, and the XFRM policy of every
// tunnel with its reqid (reqids are owned here, kept across commits).
// The Daemon applies an Intent: it runs the IKE engines (ike/ikev1, and
// ike/ikev2 for gateways with version v2-only, sharing the sockets through
// ike/seam) on each local address, programs XFRM policies and states
// through package xfrm, starts gateways that wait for their address when it
// appears, and reports SAs and statistics for the show commands.
//
// The firmware compiles at every commit (firmware/commit), runs the Daemon
// under its supervisor, and hands it each Intent through the commit
// pipeline's VPN stage.
package vpn
