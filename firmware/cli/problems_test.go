package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/palisade/palisade/firmware/config"
)

func TestProblemLines(t *testing.T) {
	ps := []*config.Problem{
		{Statement: "set security zones security-zone trust interfaces ge-0/0/5.0", Message: "first"},
		{Statement: "set security zones security-zone trust host-inbound-traffic system-services ike", Message: "second"},
		{Statement: "set security zones security-zone trust host-inbound-traffic system-services ping", Message: "same level"},
		{Statement: "set security policies from-zone trust to-zone untrust policy VPN-OUT", Message: "shadowed", Warning: true},
		{Statement: "set interfaces ge-0/0/0 description \"to the lab\"", Message: "third"},
		{Message: "no statement"},
		{Statement: "set no-such-thing here", Message: "unplaceable"},
	}
	got := strings.Join(problemLines(ps), "\n")
	want := strings.Join([]string{
		"[edit security zones security-zone trust]",
		"  'interfaces ge-0/0/5.0'",
		"    first",
		"[edit security zones security-zone trust host-inbound-traffic]",
		"  'system-services ike'",
		"    second",
		"  'system-services ping'",
		"    same level",
		"[edit security policies from-zone trust to-zone untrust]",
		"  'policy VPN-OUT'",
		"    warning: shadowed",
		"[edit interfaces ge-0/0/0]",
		"  'description \"to the lab\"'",
		"    third",
		"error: no statement",
		"error: set no-such-thing here: unplaceable",
	}, "\n")
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestCommitProblemsSeparatesStageErrors(t *testing.T) {
	p := &config.Problem{Statement: "set system host-name x", Message: "bad"}
	stage := errors.New("commit failed in policies: kernel said no")
	ps, others := commitProblems(fmt.Errorf("wrapped: %w", errors.Join(p, stage)))
	// A wrapped join is not looked into: only the top-level join and
	// ValidationError-like Unwrap() []error are.
	if len(ps) != 0 || len(others) != 1 {
		t.Errorf("wrapped: problems %v, others %v", ps, others)
	}
	ps, others = commitProblems(errors.Join(p, stage))
	if len(ps) != 1 || ps[0] != p || len(others) != 1 || others[0] != stage {
		t.Errorf("joined: problems %v, others %v", ps, others)
	}
}
