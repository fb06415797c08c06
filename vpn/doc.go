// Package vpn is Palisade's IPsec VPN service: it takes the configured IKE
// gateways and tunnel policies as plain values (Gateway, Tunnel), runs the
// IKE daemons (package ike/ikev1, and ike/ikev2 for gateways with
// version v2-only, sharing the sockets) on each local address, programs XFRM
// policies and states through package xfrm, and reports SAs and statistics
// for the show commands.
//
// The firmware calls New once, Run under its supervisor, and Reconcile at
// every commit; nothing here imports the configuration model.
package vpn
