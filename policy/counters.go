package policy

import (
	"context"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// Hits is a policy's counter: packets and bytes of the first packets of
// the sessions it matched (established traffic is accepted before the
// policies), so Packets is the number of sessions the policy saw.
type Hits struct {
	Packets, Bytes uint64
}

// HitCounts reads the counters of the compiled policies from the kernel,
// keyed by policy index.
func HitCounts(ctx context.Context, c *nftables.Conn, comp *Compiled) (map[int]Hits, error) {
	table := comp.Ruleset.Table
	type result struct {
		objs []nftables.Obj
		err  error
	}
	done := make(chan result, 1)
	go func() {
		objs, err := c.GetNamedObjects(&nftables.Table{Family: nftables.TableFamilyINet, Name: table})
		done <- result{objs, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		return nil, fmt.Errorf("reading counters of table inet %s: %w", table, ctx.Err())
	}
	if r.err != nil {
		return nil, fmt.Errorf("reading counters of table inet %s: %w", table, r.err)
	}
	byName := map[string]Hits{}
	for _, o := range r.objs {
		n, ok := o.(*nftables.NamedObj)
		if !ok || n.Type != nftables.ObjTypeCounter {
			continue
		}
		if ctr, ok := n.Obj.(*expr.Counter); ok {
			byName[n.Name] = Hits{Packets: ctr.Packets, Bytes: ctr.Bytes}
		}
	}
	out := map[int]Hits{}
	for idx, id := range comp.IDs {
		out[idx] = byName[id.Counter]
	}
	return out, nil
}

// ClearHitCounts sets every policy counter of the table to zero, for
// `clear security policies hit-count`.
func ClearHitCounts(ctx context.Context, c *nftables.Conn, table string) error {
	done := make(chan error, 1)
	go func() {
		_, err := c.ResetNamedObjects(&nftables.Table{Family: nftables.TableFamilyINet, Name: table})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("clearing counters of table inet %s: %w", table, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("clearing counters of table inet %s: %w", table, ctx.Err())
	}
}
