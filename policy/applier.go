package policy

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

// Applier applies successive rulesets to one table. It remembers the last
// ruleset it applied, so that the next one is sent as the difference (one
// batch that adds and removes counters and sets and rewrites only the
// chains whose rules changed), which keeps a one-policy change on 10,000
// policies fast. The first apply, one after an error, and one that changes
// a base chain's hook or policy replace the whole table as Apply does.
//
// The difference is computed against what this Applier loaded; if anything
// else may have changed the table since, call Reset first. An Applier is
// not safe for concurrent use.
type Applier struct {
	conn *nftables.Conn
	last *Ruleset
	keys map[string]string // chain name -> chainKey, of last
}

// NewApplier returns an Applier that writes through c (see ConnOptions).
func NewApplier(c *nftables.Conn) *Applier { return &Applier{conn: c} }

// Reset makes the next Apply replace the whole table.
func (a *Applier) Reset() { a.last = nil }

// Apply makes the table equal to r.
func (a *Applier) Apply(ctx context.Context, r *Ruleset) error {
	prev, prevKeys := a.last, a.keys
	a.last, a.keys = nil, nil // until this apply is known to have succeeded
	keys := chainKeys(r)
	diff := false
	if prev != nil {
		var err error
		if diff, err = queueDiff(a.conn, prev, r, prevKeys, keys); err != nil {
			return err
		}
	}
	if !diff {
		if err := Apply(ctx, a.conn, r); err != nil {
			return err
		}
	} else if err := flush(ctx, a.conn, "updating table inet "+r.Table); err != nil {
		return err
	}
	a.last, a.keys = r, keys
	return nil
}

// chainKeys renders every chain's rules once, for comparison.
func chainKeys(r *Ruleset) map[string]string {
	m := make(map[string]string, len(r.Chains))
	for _, c := range r.Chains {
		m[c.Name] = chainKey(c)
	}
	return m
}

func setKey(s *Set) string {
	return fmt.Sprint(s.Kind) + "\n" + strings.Join(s.elementsText(), "\n")
}

func chainKey(c *Chain) string {
	var b strings.Builder
	for _, r := range c.Rules {
		b.WriteString(r.Text())
		b.WriteByte('\n')
	}
	return b.String()
}

func chainHead(c *Chain) string { return fmt.Sprintf("%s %d %s", c.Hook, c.Priority, c.Policy) }

// queueDiff queues the batch that turns prev into next, or reports false
// (queueing nothing) when only a full replace can do it. An error means a
// partial batch is queued; the caller must not flush it.
func queueDiff(c *nftables.Conn, prev, next *Ruleset, prevKeys, nextKeys map[string]string) (bool, error) {
	if prev.Table != next.Table {
		return false, nil
	}
	oldChains := map[string]*Chain{}
	for _, ch := range prev.Chains {
		oldChains[ch.Name] = ch
	}
	newChains := map[string]*Chain{}
	for _, ch := range next.Chains {
		newChains[ch.Name] = ch
		if o := oldChains[ch.Name]; (o != nil || ch.Hook != HookNone) && (o == nil || chainHead(o) != chainHead(ch)) {
			return false, nil
		}
	}
	for _, ch := range prev.Chains {
		if ch.Hook != HookNone && newChains[ch.Name] == nil {
			return false, nil
		}
	}
	oldSets := map[string]*Set{}
	for _, s := range prev.Sets {
		oldSets[s.Name] = s
	}
	newSets := map[string]*Set{}
	for _, s := range next.Sets {
		newSets[s.Name] = s
		if o := oldSets[s.Name]; o != nil && o.Kind != s.Kind {
			return false, nil
		}
	}
	type setChange struct {
		set   *nftables.Set
		elems []nftables.SetElement
		isNew bool
	}
	var sets []setChange
	for _, s := range next.Sets {
		o := oldSets[s.Name]
		if o != nil && setKey(o) == setKey(s) {
			continue
		}
		ns, elems, err := kernelSet(nil, s)
		if err != nil {
			return false, nil
		}
		sets = append(sets, setChange{ns, elems, o == nil})
	}

	t := &nftables.Table{Family: nftables.TableFamilyINet, Name: next.Table}
	kchains := map[string]*nftables.Chain{}
	for _, ch := range next.Chains {
		kchains[ch.Name] = &nftables.Chain{Name: ch.Name, Table: t}
	}
	oldCounters, newCounters := map[string]bool{}, map[string]bool{}
	for _, n := range prev.Counters {
		oldCounters[n] = true
	}
	for _, n := range next.Counters {
		newCounters[n] = true
	}
	// 1. New counters and chains, so that sets and rules can refer to them.
	for _, n := range next.Counters {
		if !oldCounters[n] {
			c.AddObj(&nftables.NamedObj{Table: t, Name: n, Type: nftables.ObjTypeCounter, Obj: &expr.Counter{}})
		}
	}
	for _, ch := range next.Chains {
		if oldChains[ch.Name] == nil {
			c.AddChain(kchains[ch.Name])
		}
	}
	// 2. New sets; changed ones are flushed and refilled under their name.
	ids := map[string]uint32{}
	for _, sc := range sets {
		sc.set.Table = t
		if sc.isNew {
			if err := c.AddSet(sc.set, sc.elems); err != nil {
				return false, fmt.Errorf("adding set %s: %w", sc.set.Name, err)
			}
			ids[sc.set.Name] = sc.set.ID
			continue
		}
		c.FlushSet(sc.set)
		if len(sc.elems) > 0 {
			if err := c.SetAddElements(sc.set, sc.elems); err != nil {
				return false, fmt.Errorf("filling set %s: %w", sc.set.Name, err)
			}
		}
	}
	resolve := func(name string) uint32 { return ids[name] }
	// 3. Chains whose rules changed are flushed and refilled.
	for _, ch := range next.Chains {
		o := oldChains[ch.Name]
		if o != nil && prevKeys[ch.Name] == nextKeys[ch.Name] {
			continue
		}
		if o != nil {
			c.FlushChain(kchains[ch.Name])
		}
		for _, rule := range ch.Rules {
			c.AddRule(kernelRule(t, kchains[ch.Name], rule, resolve))
		}
	}
	// 4. What is gone: chains (rules first, as they may hold the last
	// reference to a set or counter), then sets and counters.
	for _, ch := range prev.Chains {
		if newChains[ch.Name] == nil {
			kc := &nftables.Chain{Name: ch.Name, Table: t}
			c.FlushChain(kc)
			c.DelChain(kc)
		}
	}
	for _, s := range prev.Sets {
		if newSets[s.Name] == nil {
			c.DelSet(&nftables.Set{Table: t, Name: s.Name})
		}
	}
	for _, n := range prev.Counters {
		if !newCounters[n] {
			c.DeleteObject(&nftables.NamedObj{Table: t, Name: n, Type: nftables.ObjTypeCounter})
		}
	}
	return true, nil
}

// kernelRule converts one rule.
func kernelRule(t *nftables.Table, ch *nftables.Chain, rule Rule, sets setResolver) *nftables.Rule {
	var ex []expr.Any
	for _, s := range rule.Stmts {
		ex = append(ex, s.exprs(sets)...)
	}
	nr := &nftables.Rule{Table: t, Chain: ch, Exprs: ex}
	if rule.Comment != "" {
		nr.UserData = userdata.AppendString(nil, userdata.TypeComment, rule.Comment)
	}
	return nr
}
