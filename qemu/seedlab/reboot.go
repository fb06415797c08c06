package seedlab

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Recovery is how the lab came back after a router rebooted. Durations count from the moment "yes" was
// typed at the reboot question.
type Recovery struct {
	Router string
	// LostAnswers counts the reboot questions whose "yes" the CLI did not act on (see Reboot).
	LostAnswers int
	Down        time.Duration // until its QEMU exited
	LoggedIn    time.Duration // until it was back at the CLI prompt
	PingOK      time.Duration // until host1 got an echo reply from host2 again
	TunnelUp    time.Duration // until both routers listed the same new IKE SA as UP
	Evidence    string
}

func (r Recovery) String() string {
	return fmt.Sprintf("%s rebooted: QEMU down after %v, CLI back after %v, ping host1->host2 again after %v, IKE SA UP on both after %v",
		r.Router, r.Down.Round(10*time.Millisecond), r.LoggedIn.Round(10*time.Millisecond),
		r.PingOK.Round(10*time.Millisecond), r.TunnelUp.Round(10*time.Millisecond))
}

var rebootQuestion = regexp.MustCompile(`Reboot the system \? \[yes,no\] \(no\) `)

// Reboot types `request system reboot` on r's console and answers yes, waits for its QEMU to exit (the
// lab's QEMUs run with -no-reboot), starts it again on the same disk and links, logs in, and measures
// until the tunnel works again, without touching the other router. It fails after timeout.
//
// If the guest does not go down within 10 s of the answer, the CLI dropped the answer: that is counted
// in LostAnswers, Enter is pressed (the question's default is no), and the reboot is asked again, at
// most three times in all.
func (l *Lab) Reboot(ctx context.Context, r *Router, timeout time.Duration) (rec Recovery, _ error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rec.Router = r.Host
	var e evidence
	defer func() { rec.Evidence = e.String() }()

	if _, err := e.transcript(ctx, l.SRX1, "show security ike security-associations"); err != nil {
		return rec, err
	}
	var t0 time.Time
	for attempt := 1; ; attempt++ {
		g := r.Guest()
		out, err := r.Ask(ctx, "request system reboot", rebootQuestion, "yes")
		t0 = time.Now()
		e.add("%srequest system reboot\n%s", r.OpPrompt(), out)
		if err != nil {
			return rec, err
		}
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		werr := g.Wait(wctx)
		wcancel()
		if werr == nil || !errors.Is(werr, context.DeadlineExceeded) {
			rec.Down = time.Since(t0)
			e.add("(typed \"yes\"; QEMU exited after %v; the console ends with:)\n%s", rec.Down.Round(time.Millisecond), tailLines(cleanConsole(g.Output()), 3))
			break
		}
		rec.LostAnswers++
		e.add("(typed \"yes\"; %s did not act on it within 10 s; the console ends with:)\n%s", r.Host, tailLines(cleanConsole(g.Output()), 3))
		if attempt == 3 {
			return rec, fmt.Errorf("%s: request system reboot: the answer yes was not acted on, %d times", r.Host, attempt)
		}
		if err := r.resync(ctx); err != nil {
			return rec, err
		}
	}
	if _, err := l.QEMU.Restart(ctx, r.Name); err != nil {
		return rec, err
	}
	if err := r.Login(ctx); err != nil {
		return rec, err
	}
	rec.LoggedIn = time.Since(t0)

	var wg sync.WaitGroup
	var pingErr error
	wg.Go(func() {
		for {
			if _, err := l.QEMU.Exec(ctx, "host1", "ping", "-c", "1", "-W", "1", host2Addr); err == nil {
				rec.PingOK = time.Since(t0)
				return
			}
			if ctx.Err() != nil {
				pingErr = fmt.Errorf("ping host1 -> host2 after the reboot: %w", ctx.Err())
				return
			}
		}
	})
	tunnelErr := l.waitSameSA(ctx, t0, &rec)
	wg.Wait()
	if _, err := e.transcript(ctx, l.SRX1, "show security ike security-associations", "show security ipsec security-associations"); err != nil {
		return rec, err
	}
	if _, err := e.transcript(ctx, l.SRX2, "show security ike security-associations", "show security ipsec security-associations"); err != nil {
		return rec, err
	}
	return rec, errors.Join(pingErr, tunnelErr)
}

// waitSameSA polls both consoles until they list an UP IKE SA with the same cookies (a stale SA on the
// router that stayed up does not count).
func (l *Lab) waitSameSA(ctx context.Context, t0 time.Time, rec *Recovery) error {
	for {
		var sets [2]map[string]bool
		for i, r := range l.Routers() {
			out, err := r.Run(ctx, "show security ike security-associations")
			if err != nil {
				return err
			}
			sets[i] = map[string]bool{}
			for _, sa := range ParseIKESAs(out) {
				if sa.State == "UP" && sa.Remote == r.Peer.String() {
					sets[i][sa.InitiatorCookie+"/"+sa.ResponderCookie] = true
				}
			}
		}
		for k := range sets[1] {
			if sets[0][k] {
				rec.TunnelUp = time.Since(t0)
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the same IKE SA UP on both routers: %w", ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// resync brings the console back to a fresh prompt after a question whose answer was lost: Enter takes
// the default answer, and whatever the CLI does with the lost typing is let through.
func (r *Router) resync(ctx context.Context) error {
	g := r.Guest()
	if err := g.Send(""); err != nil {
		return err
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := g.Expect(wctx, r.promptRE())
		cancel()
		if err != nil {
			break
		}
	}
	if err := g.Send(""); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := g.Expect(wctx, r.promptRE()); err != nil {
		return fmt.Errorf("%s: no prompt after an unanswered question: %w", r.Host, err)
	}
	return nil
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
