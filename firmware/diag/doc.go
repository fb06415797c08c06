// Package diag holds the operator's diagnostics: ping, traceroute and
// monitor traffic, each streaming its lines in the layout Junos prints
// until it ends or its context is cancelled (Ctrl-C). They need raw or
// ICMP sockets, so they run on the box, as root, in the box's namespace.
package diag
