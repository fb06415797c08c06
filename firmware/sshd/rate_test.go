package sshd

import (
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// guessRate has clients guess passwords against addr as fast as they can
// for d, several connections at once and several guesses per connection,
// and returns the failed guesses the server answered per second.
func guessRate(t *testing.T, addr string, d time.Duration) float64 {
	t.Helper()
	var guesses atomic.Int64
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				asked := 0
				nc, err := net.DialTimeout("tcp", addr, d)
				if err != nil {
					t.Error(err)
					return
				}
				// Replies still delayed at the end are not
				// counted.
				nc.SetDeadline(deadline)
				cc, chans, reqs, err := ssh.NewClientConn(nc, addr, &ssh.ClientConfig{
					User: "root",
					Auth: []ssh.AuthMethod{ssh.RetryableAuthMethod(ssh.PasswordCallback(func() (string, error) {
						// Asked again: the previous guess was
						// refused.
						if asked++; asked > 1 {
							guesses.Add(1)
						}
						return "guess", nil
					}), 100)},
					HostKeyCallback: ssh.InsecureIgnoreHostKey(),
				})
				nc.Close()
				switch {
				case err == nil:
					ssh.NewClient(cc, chans, reqs).Close()
					t.Errorf("a wrong password logged in")
					return
				case strings.Contains(err.Error(), "unable to authenticate"):
					guesses.Add(1) // the last one, refused
				default:
					// Refused by a connection cap: do not
					// spin.
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	return float64(guesses.Load()) / time.Since(start).Seconds()
}

// TestPasswordGuessRate measures how fast eight clients on loopback can
// guess root's password, with the real delays: 1, 2 and 4 s for the first
// three failures, so about 3 in 8 s. Without delays it was over 1000 a
// second.
func TestPasswordGuessRate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 8 seconds")
	}
	checkGoroutines(t)
	s := passwordServer(t)
	s.Sleep = nil
	addr, _ := start(t, s)
	rate := guessRate(t, addr, 8*time.Second)
	t.Logf("%.2f password guesses a second", rate)
	if rate > 1 {
		t.Errorf("%.2f password guesses a second, want at most 1", rate)
	}
}
