package commit

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/palisade/palisade/firmware/config"
	"github.com/palisade/palisade/firmware/store"
)

// recorder is a stage that records the host names it applied and fails on
// a chosen one.
type recorder struct {
	name    string
	applied []string
	failOn  string
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) Apply(_ context.Context, in *Intent) error {
	h := in.Config.HostName("none")
	if h == r.failOn {
		return errors.New("kernel said no")
	}
	r.applied = append(r.applied, h)
	return nil
}

func host(t *testing.T, h string) *config.Config {
	c, _, err := config.Parse("t", "set system host-name "+h+"\n")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFailedStageRestoresPrevious(t *testing.T) {
	a, b := &recorder{name: "links"}, &recorder{name: "policies", failOn: "bad"}
	st := &store.Store{Dir: t.TempDir()}
	p := &Pipeline{Stages: []Stage{a, b}, Store: st}
	ctx := context.Background()
	if _, err := p.Commit(ctx, host(t, "good"), Options{Persist: true}); err != nil {
		t.Fatal(err)
	}
	_, err := p.Commit(ctx, host(t, "bad"), Options{Persist: true})
	if err == nil || !strings.Contains(err.Error(), "commit failed in policies: kernel said no") {
		t.Fatalf("got %v", err)
	}
	if got := strings.Join(a.applied, ","); got != "good,bad,good" {
		t.Errorf("links stage saw %s, want good,bad,good", got)
	}
	if p.Active().HostName("") != "good" {
		t.Errorf("active is %s", p.Active().HostName(""))
	}
	e, err := st.Get(0)
	if err != nil || e.Config.HostName("") != "good" {
		t.Errorf("stored: %v %v", e.Config, err)
	}
}

func TestValidationStopsBeforeStages(t *testing.T) {
	a := &recorder{name: "links"}
	p := &Pipeline{Stages: []Stage{a}}
	c, _, _ := config.Parse("t", "set security zones security-zone z interfaces ge-0/0/3.0\n")
	_, err := p.Commit(context.Background(), c, Options{})
	var ve *ValidationError
	if !errors.As(err, &ve) || len(a.applied) != 0 {
		t.Fatalf("got %v, applied %v", err, a.applied)
	}
}

// TestValidatesOnce: a commit validates its configuration once; the
// compile of every part works from that one validated configuration.
func TestValidatesOnce(t *testing.T) {
	n := 0
	p := &Pipeline{Stages: []Stage{&recorder{name: "links"}}, Validate: func(c *config.Config) []*config.Problem {
		n++
		return c.Validate()
	}}
	c := seed(t)
	if _, err := p.Commit(context.Background(), c, Options{}); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("the commit validated %d times, want once", n)
	}
	n = 0
	in, err := p.Compile(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(context.Background(), in, Options{}); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("compile and apply validated %d times, want once", n)
	}
	if in.VPN.Reqid("VPN-OUT") == 0 || len(in.Firewall.Tunnels) != 1 || len(in.Net.Links) == 0 || in.Sysctls["net/ipv4/ip_forward"] != "1" {
		t.Errorf("the intent lacks a part: reqid %d, %d tunnels, %d links, forwarding %q",
			in.VPN.Reqid("VPN-OUT"), len(in.Firewall.Tunnels), len(in.Net.Links), in.Sysctls["net/ipv4/ip_forward"])
	}
}

func seed(t *testing.T) *config.Config {
	t.Helper()
	b, err := os.ReadFile("../config/testdata/srx1.set")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := config.Parse("srx1.set", string(b))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMissingPortIsAWarning: a configuration naming a port the board does
// not have commits, with a warning naming it (it failed as a whole before).
func TestMissingPortIsAWarning(t *testing.T) {
	p := &Pipeline{Stages: []Stage{&recorder{name: "links"}}, Present: func(port string) bool { return port == "ge-0/0/0" }}
	warnings, err := p.Commit(context.Background(), seed(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, w := range warnings {
		if w.Statement == "interfaces ge-0/0/1" && strings.Contains(w.Message, "no such port") {
			found = true
		}
		if strings.Contains(w.Statement, "ge-0/0/0") {
			t.Errorf("warning about the present port: %v", w)
		}
	}
	if !found {
		t.Errorf("no warning names ge-0/0/1: %v", warnings)
	}
}

// TestConfirmedCommitRollsBack: commit confirmed arms a timer; when it
// fires, the configuration from before is committed again; a later commit
// stops it.
func TestConfirmedCommitRollsBack(t *testing.T) {
	var fire func()
	stopped := 0
	var announced []string
	p := &Pipeline{Stages: []Stage{&recorder{name: "links"}}, Announce: func(s string) { announced = append(announced, s) },
		AfterFunc: func(d time.Duration, f func()) func() bool {
			if d != 2*time.Minute {
				t.Errorf("timer of %v, want 2m", d)
			}
			fire = f
			return func() bool { stopped++; return true }
		}}
	ctx := context.Background()
	for _, step := range []struct {
		host    string
		confirm time.Duration
	}{{"one", 0}, {"two", 2 * time.Minute}, {"three", 2 * time.Minute}} {
		if _, err := p.Commit(ctx, host(t, step.host), Options{Confirm: step.confirm}); err != nil {
			t.Fatal(err)
		}
	}
	if stopped != 1 {
		t.Errorf("the second confirmed commit stopped %d timers, want 1", stopped)
	}
	fire() // three was not confirmed: back to two
	if got := p.Active().HostName(""); got != "two" {
		t.Errorf("after the rollback %s runs, want two", got)
	}
	if len(announced) != 1 || !strings.Contains(announced[0], "automatic rollback complete") {
		t.Errorf("announced %q", announced)
	}
}
