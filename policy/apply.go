package policy

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
)

// DefaultApplyTimeout bounds Apply when the context has no deadline: if
// nf_tables failed to load while nfnetlink did, netlink calls never return.
const DefaultApplyTimeout = 30 * time.Second

// Apply makes the kernel's table r.Table equal to r, in one nftables
// transaction: the table is deleted and built again in the same batch, so
// packets see the old ruleset or the new one, never a mix, and applying the
// same ruleset twice leaves the same state. No other table is touched.
//
// Large rulesets make the kernel queue one acknowledgement per object;
// create c with ConnOptions so that the socket can hold them.
func Apply(ctx context.Context, c *nftables.Conn, r *Ruleset) error {
	if err := queue(c, r); err != nil {
		return err
	}
	return flush(ctx, c, "applying table inet "+r.Table)
}

// Delete removes the table (if present) in one batch.
func Delete(ctx context.Context, c *nftables.Conn, table string) error {
	t := &nftables.Table{Family: nftables.TableFamilyINet, Name: table}
	c.AddTable(t) // so that the delete cannot fail on a missing table
	c.DelTable(t)
	return flush(ctx, c, "deleting table inet "+table)
}

// flush runs Flush under the context's deadline. On timeout the blocked
// goroutine stays behind until the kernel answers; there is no way to
// interrupt a netlink read from here.
func flush(ctx context.Context, c *nftables.Conn, what string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultApplyTimeout)
		defer cancel()
	}
	done := make(chan error, 1)
	go func() { done <- c.Flush() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: nftables did not answer (is nf_tables loaded?): %w", what, ctx.Err())
	}
}

// queue adds the batch for r to c without sending it.
func queue(c *nftables.Conn, r *Ruleset) error {
	t := &nftables.Table{Family: nftables.TableFamilyINet, Name: r.Table}
	c.AddTable(t)
	c.DelTable(t)
	c.AddTable(t)
	for _, n := range r.Counters {
		c.AddObj(&nftables.NamedObj{Table: t, Name: n, Type: nftables.ObjTypeCounter, Obj: &expr.Counter{}})
	}
	chains := map[string]*nftables.Chain{}
	// Regular chains first: verdict maps and jumps name them.
	for _, ch := range r.Chains {
		if ch.Hook == HookNone {
			chains[ch.Name] = c.AddChain(&nftables.Chain{Name: ch.Name, Table: t})
		}
	}
	ids := map[string]uint32{}
	for _, s := range r.Sets {
		ns, elems, err := kernelSet(t, s)
		if err != nil {
			return err
		}
		if err := c.AddSet(ns, elems); err != nil {
			return fmt.Errorf("adding set %s: %w", s.Name, err)
		}
		ids[s.Name] = ns.ID
	}
	resolve := func(name string) uint32 { return ids[name] }
	for _, ch := range r.Chains {
		if ch.Hook == HookNone {
			continue
		}
		nc := &nftables.Chain{Name: ch.Name, Table: t, Type: nftables.ChainTypeFilter,
			Priority: nftables.ChainPriorityRef(nftables.ChainPriority(ch.Priority))}
		switch ch.Hook {
		case HookInput:
			nc.Hooknum = nftables.ChainHookInput
		case HookForward:
			nc.Hooknum = nftables.ChainHookForward
		case HookOutput:
			nc.Hooknum = nftables.ChainHookOutput
		}
		pol := nftables.ChainPolicyAccept
		if ch.Policy == "drop" {
			pol = nftables.ChainPolicyDrop
		}
		nc.Policy = &pol
		chains[ch.Name] = c.AddChain(nc)
	}
	for _, ch := range r.Chains {
		for _, rule := range ch.Rules {
			c.AddRule(kernelRule(t, chains[ch.Name], rule, resolve))
		}
	}
	return nil
}

// kernelSet converts a Set to google/nftables form.
func kernelSet(t *nftables.Table, s *Set) (*nftables.Set, []nftables.SetElement, error) {
	ns := &nftables.Set{Table: t, Name: s.Name}
	var elems []nftables.SetElement
	switch s.Kind {
	case SetIPv4, SetIPv6:
		ns.Interval = true
		ns.KeyType = nftables.TypeIPAddr
		if s.Kind == SetIPv6 {
			ns.KeyType = nftables.TypeIP6Addr
		}
		for _, p := range s.Prefixes {
			elems = append(elems, intervalElems(p)...)
		}
	case SetIfName:
		ns.KeyType = nftables.TypeIFName
		ns.KeyByteOrder = binaryutil.NativeEndian // so that `nft list` prints the names
		for _, n := range s.Names {
			elems = append(elems, nftables.SetElement{Key: ifname(n)})
		}
	case VmapIfPair, VmapIf:
		ns.IsMap = true
		ns.DataType = nftables.TypeVerdict
		ns.KeyType = nftables.TypeIFName
		ns.KeyByteOrder = binaryutil.NativeEndian
		if s.Kind == VmapIfPair {
			ns.KeyType = nftables.MustConcatSetType(nftables.TypeIFName, nftables.TypeIFName)
			ns.Concatenation = true
		}
		for _, e := range s.Elems {
			var key []byte
			for _, k := range e.Keys {
				key = append(key, ifname(k)...)
			}
			elems = append(elems, nftables.SetElement{Key: key,
				VerdictData: &expr.Verdict{Kind: expr.VerdictJump, Chain: e.Chain}})
		}
	default:
		return nil, nil, fmt.Errorf("set %s: unknown kind %d", s.Name, s.Kind)
	}
	return ns, elems, nil
}

// intervalElems encodes a prefix as the kernel's interval pair: its first
// address, and the address after its last flagged as the end. A prefix that
// runs to the top of the address space has no end element.
func intervalElems(p netip.Prefix) []nftables.SetElement {
	p = p.Masked()
	first := p.Addr()
	b := first.AsSlice()
	host := len(b)*8 - p.Bits()
	// last = first | host bits; end = last + 1
	for i := len(b) - 1; i >= 0 && host > 0; i-- {
		n := min(host, 8)
		b[i] |= byte(1<<n - 1)
		host -= n
	}
	last, _ := netip.AddrFromSlice(b)
	out := []nftables.SetElement{{Key: first.AsSlice()}}
	if end := last.Next(); end.IsValid() {
		out = append(out, nftables.SetElement{Key: end.AsSlice(), IntervalEnd: true})
	}
	return out
}

// ConnOptions are the options for nftables.New that Palisade uses: the
// network namespace (fd < 0: the caller's own) and socket buffers large
// enough for a batch of 10,000 policies and its acknowledgements.
func ConnOptions(netnsFd int) []nftables.ConnOption {
	opts := []nftables.ConnOption{nftables.WithSockOptions(bigBuffers)}
	if netnsFd >= 0 {
		opts = append(opts, nftables.WithNetNSFd(netnsFd))
	}
	return opts
}
