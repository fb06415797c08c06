package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// runScript runs a non-interactive session over the given input and
// returns its output.
func runScript(t *testing.T, sys System, ed *Editor, input string) string {
	t.Helper()
	var out bytes.Buffer
	s := &Session{In: strings.NewReader(input), Out: &out, Sys: sys, Editor: ed, Terminal: "ttyS0"}
	if err := s.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return out.String()
}

func TestScriptedSRX1(t *testing.T) {
	set, err := os.ReadFile("testdata/srx1.set")
	if err != nil {
		t.Fatal(err)
	}
	f := newFake()
	ctx := context.Background()
	var out bytes.Buffer
	pr, pw := io.Pipe()
	defer pw.Close()
	// Log in first, on the same input the session then reads.
	go func() {
		io.WriteString(pw, "root\r\nsecret\r\n")
	}()
	user, err := Login(ctx, pr, &out, func(u, p string) bool { return u == "root" && p == "secret" })
	if err != nil || user != "root" {
		t.Fatalf("Login = %q, %v", user, err)
	}
	script := "configure\n" + string(set) +
		"commit\n" +
		"set security zones security-zone trust interfaces xe-9\n" +
		"show | compare\n" +
		"exit\n" +
		"show security policies\n" +
		"show configuration security zones | display set | count\n" +
		"exit\n"
	s := &Session{In: strings.NewReader(script), Out: &out, Sys: f}
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if len(f.commits) != 1 {
		t.Fatalf("%d commits, want 1; output:\n%s", len(f.commits), got)
	}
	if h := f.Active().HostName(""); h != "SRX1" {
		t.Errorf("committed host-name %q, want SRX1", h)
	}
	for _, want := range []string{
		"login: Password:\r\n",
		"warning: no root password is configured",
		"root@palisade> configure\nEntering configuration mode\n\n[edit]\nroot@palisade# ",
		"root@palisade# commit\ncommit complete\n\n[edit]\nroot@SRX1# ",
		"error: set security zones security-zone trust interfaces xe-9: invalid logical interface",
		"Exiting configuration mode",
		"  Policy: VPN-OUT, State: enabled",
		"  Policy: default-permit, State: enabled",
		"  Policy: VPN-IN, State: enabled",
		"Count: 5 lines",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q; output:\n%s", want, got)
		}
	}
	// The bad set line left nothing to compare and nothing to commit.
	if strings.Contains(got, "xe-9\n+") || strings.Contains(got, "The configuration has been changed") {
		t.Errorf("the bad set line changed the candidate:\n%s", got)
	}
	if strings.Contains(got, "syntax error") {
		t.Errorf("unexpected syntax error:\n%s", got)
	}
}

func TestConfigModeEditing(t *testing.T) {
	f := newFake()
	f.active = srx1(t)
	got := runScript(t, f, nil, strings.Join([]string{
		"configure",
		"edit security zones security-zone trust",
		"set description inside",
		"show",
		"up 2",
		"top",
		"sh | compare",
		"show system | display set",
		"delete system host-name",
		"delete system host-name",
		"rollback 0",
		"show | compare",
		"exit",
		"",
	}, "\n"))
	for _, want := range []string{
		"\n[edit security zones security-zone trust]\nroot@SRX1# ",
		"description inside;\nhost-inbound-traffic {\n    system-services all;\n}\ninterfaces ge-0/0/0.0;\n",
		"\n[edit security]\nroot@SRX1# ",
		"[edit security zones security-zone trust]\n+   description inside;\n",
		"set system host-name SRX1\n",
		"warning: statement not found\n",
		"load complete\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q; output:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "+   description inside;"); n != 1 {
		t.Errorf("compare after rollback 0 still shows changes (%d):\n%s", n, got)
	}
}

func TestExitWithUncommittedChanges(t *testing.T) {
	f := newFake()
	got := runScript(t, f, nil, "configure\nset system host-name R2\nexit\nno\nexit\nyes\nshow system uptime | match booted\nquit\n")
	for _, want := range []string{
		"The configuration has been changed but not committed\nExit with uncommitted changes? [yes,no] (yes) ",
		"Exiting configuration mode\nroot@palisade> show system uptime | match booted\n",
		"System booted: 2026-11-26 10:02:57 UTC (00:17:04 ago)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q; output:\n%s", want, got)
		}
	}
	if strings.Count(got, "Exit with uncommitted changes?") != 2 {
		t.Errorf("want the question twice:\n%s", got)
	}
}

func TestSyntaxErrors(t *testing.T) {
	f := newFake()
	got := runScript(t, f, nil, "show foo\nshow s\nsh sec ike sa\nshow security\n")
	for _, want := range []string{
		"root@palisade> show foo\n" + strings.Repeat(" ", 15+5) + "^\nsyntax error, expecting <command>.\n",
		"'s' is ambiguous.\nPossible completions:\n  security             Show security information\n  system               Show system information\n",
		"1859361 UP     0f33732903bd3ed7",
		"root@palisade> show security\n" + strings.Repeat(" ", 15+14) + "^\nsyntax error, expecting <command>.\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q; output:\n%s", want, got)
		}
	}
}

func TestLoadTerminalAndCommitCheck(t *testing.T) {
	f := newFake()
	set, err := os.ReadFile("testdata/srx1.set")
	if err != nil {
		t.Fatal(err)
	}
	got := runScript(t, f, nil, "configure\nload merge terminal\n"+string(set)+"\x04\ncommit check\ncommit confirmed 5 comment \"first\"\ncommit and-quit\n")
	for _, want := range []string{
		"[Type ^D at a new line to end input]\n",
		"load complete\n",
		"configuration check succeeds\n",
		"commit confirmed will be automatically rolled back in 5 minutes unless confirmed\ncommit complete\n",
		"commit complete\nExiting configuration mode\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q; output:\n%s", want, got)
		}
	}
	if len(f.opts) != 2 || f.opts[0].ConfirmMinutes != 5 || f.opts[0].Comment != "first" || f.opts[1].ConfirmMinutes != 0 {
		t.Errorf("commit options %+v", f.opts)
	}
}

func TestCommitErrorNamesStatement(t *testing.T) {
	f := newFake()
	got := runScript(t, f, nil, "configure\nset security zones security-zone trust interfaces ge-0/0/5.0\ncommit\n")
	// As Junos: the level, the statement quoted under it, the message.
	want := "# commit\n[edit security zones security-zone trust]\n  'interfaces ge-0/0/5.0'\n    interface ge-0/0/5.0 is not configured"
	if !strings.Contains(got, want) || !strings.Contains(got, "'\n    interface ge-0/0/5.0 is not configured (set interfaces ge-0/0/5 unit 0 ...)\nerror: configuration check-out failed\n") {
		t.Errorf("output lacks %q and the check-out failure:\n%s", want, got)
	}
	if len(f.commits) != 0 {
		t.Errorf("a failing commit was recorded")
	}
}

func TestSharedCandidate(t *testing.T) {
	f := newFake()
	ed := NewEditor(f)
	a := &Session{Sys: f, Editor: ed, Terminal: "ttyS0"}
	b := &Session{Sys: f, Editor: ed, Terminal: "pts/0"}
	if _, err := ed.enter(a, false); err != nil {
		t.Fatal(err)
	}
	if err := ed.change(a, func(c *cfgConfig) error { return c.Set([]string{"system", "host-name", "X"}) }); err != nil {
		t.Fatal(err)
	}
	notes, err := ed.enter(b, false)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(notes, "\n")
	if !strings.Contains(joined, "Users currently editing the configuration:\n  root terminal ttyS0") ||
		!strings.Contains(joined, "The configuration has been changed but not committed") {
		t.Errorf("notes:\n%s", joined)
	}
	ed.leave(b)
	if _, err := ed.enter(b, true); err == nil {
		t.Errorf("configure exclusive over a modified candidate succeeded")
	}
	// Commit from a; then b may lock, and a can no longer change.
	if _, err := ed.commit(context.Background(), a, CommitOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ed.enter(b, true); err != nil {
		t.Fatal(err)
	}
	err = ed.change(a, func(c *cfgConfig) error { return c.Set([]string{"system", "host-name", "Y"}) })
	if err == nil || !strings.Contains(err.Error(), "locked by: root terminal pts/0") {
		t.Errorf("change under another's lock: %v", err)
	}
}

// startSession runs s over a pipe, as a terminal would feed it: it returns
// the writer of s's input, its output, and wait, which returns what Run
// returned and fails the test if the session has not ended within 5 s.
func startSession(t *testing.T, s *Session) (in *io.PipeWriter, out *syncBuffer, wait func() error) {
	t.Helper()
	pr, pw := io.Pipe()
	out = &syncBuffer{}
	s.In, s.Out = pr, out
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	return pw, out, func() error {
		t.Helper()
		select {
		case err := <-done:
			return err
		case <-time.After(5 * time.Second):
			t.Fatalf("session did not exit; output:\n%s", out.String())
			return nil
		}
	}
}

// interrupt runs cmd in a session until its output shows running, types
// Ctrl-C, and checks that the session takes the next command; it returns
// the session's output.
func interrupt(t *testing.T, cmd, running string) string {
	t.Helper()
	pw, out, wait := startSession(t, &Session{Sys: newFake()})
	io.WriteString(pw, cmd+"\n")
	waitFor(t, out, running)
	io.WriteString(pw, "\x03\nshow route | last 1\n")
	waitFor(t, out, "Local via ge-0/0/1.0")
	pw.Close()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestPingCtrlC(t *testing.T) {
	interrupt(t, "ping 10.100.22.10", "icmp_seq=2")
}

func TestMonitorTrafficCancelledByContext(t *testing.T) {
	f := newFake()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	defer pw.Close()
	out := &syncBuffer{}
	s := &Session{In: pr, Out: out, Sys: f}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	io.WriteString(pw, "monitor traffic interface ge-0/0/1\n")
	waitFor(t, out, "Listening on ge-0/0/1")
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func waitFor(t *testing.T, b *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in output:\n%s", want, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMoreCommands(t *testing.T) {
	f := newFake()
	got := runScript(t, f, nil, strings.Join([]string{
		"configure",
		"load override testdata/srx1.set",
		"run show system uptime | match time",
		"commit",
		"insert security policies from-zone trust to-zone untrust policy default-permit before policy VPN-OUT",
		"show security policies from-zone trust to-zone untrust | match policy",
		"rollback 1",
		"show | compare | count",
		"quit",
		"yes",
		"show log messages | except IPsec | last 1",
		"request system reboot",
		"no",
		"request system power-off",
		"yes",
		"clear security ipsec statistics",
		"clear security flow session",
		"ping 10.100.22.10 count 2 | count",
		"exit",
	}, "\n")+"\n")
	for _, want := range []string{
		"load complete\n",
		"Current time: 2026-11-26 10:20:01 UTC\n",
		"policy default-permit {\npolicy VPN-OUT {\n",
		"Count: ",
		"Nov 26 10:03:01 SRX1 kmd: IKE SA up with 172.16.23.1\nroot@SRX1> ",
		"Reboot the system ? [yes,no] (no) no\n",
		"Power Off the system ? [yes,no] (no) yes\nShutdown NOW!\n",
		"Count: 3 lines\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q; output:\n%s", want, got)
		}
	}
	if strings.Join(f.cleared, ",") != "power-off,ipsec-stats,flow" {
		t.Errorf("cleared %v", f.cleared)
	}
	if strings.Contains(got, "error") {
		t.Errorf("unexpected error:\n%s", got)
	}
}

func TestSoftwareCommands(t *testing.T) {
	f := newFake()
	got := runScript(t, f, nil, strings.Join([]string{
		"show system software",
		"request system software add /tmp/palisade.bundle sha256 ab12 no-reboot",
		"request system software rollback",
		"exit",
	}, "\n")+"\n")
	for _, want := range []string{
		"Slot a: version 1 (running, default)\n",
		"Firmware 2 written to slot B; it boots once and must confirm itself, else slot A comes back.\n",
		"Slot A boots next.\nRebooting to activate it. Shutdown NOW!\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q; output:\n%s", want, got)
		}
	}
	if strings.Join(f.cleared, ",") != "software add /tmp/palisade.bundle ab12,software rollback,reboot" {
		t.Errorf("calls %v", f.cleared)
	}
}
