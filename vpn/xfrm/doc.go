// Package xfrm programs IPsec policies and states into the Linux kernel
// through netlink, for policy-based tunnels negotiated by the IKE daemon.
//
// It is split in two: compile.go turns plain values (a tunnel's selector and
// gateways, a negotiated SA's keys) into netlink.XfrmPolicy and
// netlink.XfrmState values without I/O; apply.go makes the kernel match them
// through a *netlink.Handle passed in, idempotently, and removes exactly what
// it installed. events.go subscribes to the kernel's acquire and expire
// events; counters are read per SA for the statistics.
package xfrm
