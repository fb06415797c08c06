package seedlab

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
	"time"

	"github.com/palisade/palisade/qemu"
)

// Router is one of the lab's two Palisade routers, driven through its serial console.
type Router struct {
	Name        string     // the QEMU box: "srx1"
	Host        string     // its host-name: "SRX1"
	Local, Peer netip.Addr // its and the other router's ge-0/0/1 address (the IKE gateways)
	// LocalNet and PeerNet are the host networks behind it and behind the other router: its proxy-id.
	LocalNet, PeerNet netip.Prefix
	lab               *qemu.Lab
}

// Guest is the router's current QEMU guest (a new one after Restart).
func (r *Router) Guest() *qemu.Guest { return r.lab.Guest(r.Name) }

// OpPrompt and CfgPrompt are the CLI's prompts in operational and configuration mode.
func (r *Router) OpPrompt() string  { return "root@" + r.Host + "> " }
func (r *Router) CfgPrompt() string { return "root@" + r.Host + "# " }

func (r *Router) promptRE() *regexp.Regexp {
	return regexp.MustCompile(`root@` + regexp.QuoteMeta(r.Host) + `[>#] `)
}

// Login waits up to 3 minutes for the login prompt and logs in as root with an empty password.
func (r *Router) Login(ctx context.Context) error {
	g := r.Guest()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if _, err := g.Expect(ctx, regexp.MustCompile(`login: `)); err != nil {
		return fmt.Errorf("%s: waiting for the login prompt: %w", r.Host, err)
	}
	if err := g.Send("root"); err != nil {
		return err
	}
	if _, err := g.Expect(ctx, regexp.MustCompile(`Password:`)); err != nil {
		return fmt.Errorf("%s: waiting for the password prompt: %w", r.Host, err)
	}
	if err := g.Send(""); err != nil {
		return err
	}
	if _, err := g.Expect(ctx, r.promptRE()); err != nil {
		return fmt.Errorf("%s: waiting for the CLI prompt after logging in: %w", r.Host, err)
	}
	return nil
}

// Run types cmd at the CLI prompt and returns what the CLI printed in answer, up to its next prompt,
// with line ends as "\n" and the echo of the command left out. It needs the console to be at a prompt,
// as Login and Run leave it. A command that asks a question (request system reboot) needs Ask.
func (r *Router) Run(ctx context.Context, cmd string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	g := r.Guest()
	if err := g.Send(cmd); err != nil {
		return "", err
	}
	out, err := g.Expect(ctx, r.promptRE())
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", r.Host, cmd, err)
	}
	return stripEcho(cleanConsole(out), cmd), nil
}

// Ask types cmd, waits for the question matching question, and answers it.
func (r *Router) Ask(ctx context.Context, cmd string, question *regexp.Regexp, answer string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	g := r.Guest()
	if err := g.Send(cmd); err != nil {
		return "", err
	}
	out, err := g.Expect(ctx, question)
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", r.Host, cmd, err)
	}
	if err := g.Send(answer); err != nil {
		return "", err
	}
	return stripEcho(cleanConsole(out), cmd), nil
}

// Transcript runs cmds in turn and returns them as a session reads: each prompt and command, then its
// output. It stops at the first error.
func (r *Router) Transcript(ctx context.Context, cmds ...string) (string, error) {
	var b strings.Builder
	prompt := r.OpPrompt()
	for _, c := range cmds {
		out, err := r.Run(ctx, c)
		fmt.Fprintf(&b, "%s%s\n%s", prompt, c, out)
		if err != nil {
			return b.String(), err
		}
		switch {
		case c == "configure" || strings.HasPrefix(c, "configure "):
			prompt = r.CfgPrompt()
		case prompt == r.CfgPrompt() && (c == "exit" || c == "quit" || strings.HasPrefix(c, "exit configuration")):
			prompt = r.OpPrompt()
		}
	}
	return b.String(), nil
}

// ansi matches the terminal control sequences the console's line editor writes.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// cleanConsole drops terminal control sequences and carriage returns.
func cleanConsole(s string) string {
	s = ansi.ReplaceAllString(s, "")
	return strings.ReplaceAll(s, "\r", "")
}

// stripEcho drops the echo of cmd (which the line editor may have wrapped) from the start of out and
// the prompt from its end.
func stripEcho(out, cmd string) string {
	if i := strings.LastIndex(out, "root@"); i >= 0 && !strings.Contains(out[i:], "\n") {
		out = out[:i]
	}
	key := cmd
	if len(key) > 16 {
		key = key[len(key)-16:]
	}
	lines := strings.SplitAfter(out, "\n")
	for i, l := range lines {
		if strings.Contains(strings.ReplaceAll(l, "\n", ""), key) || (key == "" && i == 0) {
			return strings.Join(lines[i+1:], "")
		}
		if i >= 3 {
			break
		}
	}
	if len(lines) > 0 {
		return strings.Join(lines[1:], "")
	}
	return out
}
