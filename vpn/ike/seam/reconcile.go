package seam

import "fmt"

// Reconcile makes an engine's peers match its new configuration, by name:
// a peer that is gone, or whose configuration changed in a way same does
// not accept, is handed to remove and deleted (its SAs go with it); the
// others are updated in place; new ones are made by add. Both engines
// configure their gateways through it, so that a commit treats IKEv1 and
// IKEv2 gateways alike.
func Reconcile[P any, K any](peers map[string]P, want []K, name func(K) string, same func(P, K) bool,
	remove func(string, P), update func(P, K), add func(K) P) {
	byName := make(map[string]K, len(want))
	for _, k := range want {
		byName[name(k)] = k
	}
	for n, p := range peers {
		k, ok := byName[n]
		if !ok || !same(p, k) {
			remove(n, p)
			delete(peers, n)
			continue
		}
		update(p, k)
	}
	for n, k := range byName {
		if _, ok := peers[n]; !ok {
			peers[n] = add(k)
		}
	}
}

// KeepChildren reconciles a gateway's running tunnels with its configured
// ones, by tunnel policy: an unchanged tunnel is kept with its SAs, a
// changed or removed one is handed to drop, and a new one is made by mk.
// Kept tunnels come first, then new ones in configuration order.
func KeepChildren[C any](have []C, cfgOf func(C) ChildConfig, want []ChildConfig, drop func(C), mk func(ChildConfig) C) []C {
	keep := map[string]ChildConfig{}
	for _, cc := range want {
		keep[cc.Policy] = cc
	}
	var out []C
	for _, ch := range have {
		if cc, ok := keep[cfgOf(ch).Policy]; ok && SameChild(cfgOf(ch), cc) {
			out = append(out, ch)
			delete(keep, cc.Policy)
			continue
		}
		drop(ch)
	}
	for _, cc := range want {
		if _, ok := keep[cc.Policy]; ok {
			out = append(out, mk(cc))
		}
	}
	return out
}

// SameChild reports whether two tunnel configurations are the same, so that
// the tunnel keeps its SAs across a commit.
func SameChild(a, b ChildConfig) bool { return fmt.Sprint(a) == fmt.Sprint(b) }
