package sshd

import (
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
				c, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
					User: "root",
					Auth: []ssh.AuthMethod{ssh.RetryableAuthMethod(ssh.PasswordCallback(func() (string, error) {
						// Counted when asked for the next: the
						// previous one was refused.
						guesses.Add(1)
						return "guess", nil
					}), 100)},
					HostKeyCallback: ssh.InsecureIgnoreHostKey(),
					Timeout:         d,
				})
				if err == nil {
					c.Close()
					t.Errorf("a wrong password logged in")
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(guesses.Load()) / time.Since(start).Seconds()
}

// TestPasswordGuessRate measures how fast a client on loopback can guess
// root's password with the real delays.
func TestPasswordGuessRate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for several seconds")
	}
	checkGoroutines(t)
	addr, _ := start(t, passwordServer(t))
	rate := guessRate(t, addr, 5*time.Second)
	t.Logf("%.1f password guesses a second", rate)
}
