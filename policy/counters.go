package policy

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// Hits is a policy's counter: packets and bytes of the first packets of
// the sessions it matched (established traffic is accepted before the
// policies), so Packets is the number of sessions the policy saw.
type Hits struct {
	Packets, Bytes uint64
}

// HitCounts reads every policy counter of the table, keyed by policy index.
func HitCounts(ctx context.Context, c *nftables.Conn, table string) (map[int]Hits, error) {
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
	out := map[int]Hits{}
	for _, o := range r.objs {
		n, ok := o.(*nftables.NamedObj)
		if !ok || n.Type != nftables.ObjTypeCounter || !strings.HasPrefix(n.Name, "p") {
			continue
		}
		idx, err := strconv.Atoi(n.Name[1:])
		if err != nil {
			continue
		}
		if ctr, ok := n.Obj.(*expr.Counter); ok {
			out[idx] = Hits{Packets: ctr.Packets, Bytes: ctr.Bytes}
		}
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
