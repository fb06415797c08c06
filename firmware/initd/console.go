package initd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/palisade/palisade/firmware/boot"
	"github.com/palisade/palisade/firmware/config"
)

// Console is the serial console: a login, then a prompt.
type Console struct {
	Box *boot.Box
	TTY io.ReadWriter
	Log *Ring
}

// Run serves logins until ctx ends.
func (c Console) Run(ctx context.Context) error {
	r := bufio.NewReader(c.TTY)
	for ctx.Err() == nil {
		host := "palisade"
		if a := c.Box.Pipeline.Active(); a != nil {
			host = a.HostName("palisade")
		}
		fmt.Fprintf(c.TTY, "\n%s (ttyS0)\n\nlogin: ", host)
		user, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("reading login: %w", err)
		}
		if strings.TrimSpace(user) != "root" {
			fmt.Fprintln(c.TTY, "Login incorrect")
			continue
		}
		fmt.Fprintln(c.TTY, "\nWarning: no root password is configured; anyone on this console has full control.")
		if err := c.session(ctx, r, host); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (c Console) session(ctx context.Context, r *bufio.Reader, host string) error {
	for ctx.Err() == nil {
		fmt.Fprintf(c.TTY, "root@%s> ", host)
		line, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("reading command: %w", err)
		}
		switch strings.Join(strings.Fields(line), " ") {
		case "":
		case "exit", "quit":
			return nil
		case "show configuration":
			fmt.Fprint(c.TTY, c.Box.Pipeline.Active().Text(config.RenderOptions{}))
		case "show configuration | display set":
			fmt.Fprint(c.TTY, c.Box.Pipeline.Active().SetText(config.RenderOptions{}))
		case "show log messages":
			fmt.Fprintln(c.TTY, strings.Join(c.Log.Lines(), "\n"))
		case "request system reboot":
			fmt.Fprintln(c.TTY, "Shutdown NOW!")
			return boot.Shutdown(false)
		case "request system power-off":
			fmt.Fprintln(c.TTY, "Power off NOW!")
			return boot.Shutdown(true)
		default:
			fmt.Fprintf(c.TTY, "syntax error: %s\n", strings.TrimSpace(line))
		}
	}
	return ctx.Err()
}
