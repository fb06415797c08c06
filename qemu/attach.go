package qemu

import "fmt"

// ConsoleSocket is the unix socket of the guest's serial console. QEMU serves one client at a time: the
// harness until ReleaseConsole, then anyone (socat -,raw,echo=0 UNIX-CONNECT:PATH).
func (g *Guest) ConsoleSocket() string { return g.sock }

// ReleaseConsole disconnects the harness from the guest's console so that a person can attach to
// ConsoleSocket. Expect and Send fail afterwards; the console log file keeps recording.
func (g *Guest) ReleaseConsole() error {
	if err := g.con.conn.Close(); err != nil {
		return fmt.Errorf("box %s: releasing the console: %w", g.Box.Name, err)
	}
	return nil
}
