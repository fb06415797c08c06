package commit

import (
	"context"
	"errors"
	"strings"
	"testing"

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

func (r *recorder) Apply(_ context.Context, c *config.Config) error {
	h := c.HostName("none")
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
