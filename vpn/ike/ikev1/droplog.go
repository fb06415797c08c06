package ikev1

import "time"

// dropLog bounds the log lines about dropped malformed messages. A peer (or
// anyone spoofing its cookies) can send thousands a second; each would push
// a useful line out of `show log messages`. The first drop of a second is
// logged with its cause, the rest are counted and reported with the next
// line that gets through. It runs on the engine's goroutine only.
type dropLog struct {
	since      time.Time // start of the current one-second window
	suppressed int
}

func (e *Engine) logDrop(msg string, args ...any) {
	now := e.now()
	if !e.drops.since.IsZero() && now.Sub(e.drops.since) < time.Second {
		e.drops.suppressed++
		return
	}
	if e.drops.suppressed > 0 {
		args = append(args, "suppressed_since_last", e.drops.suppressed)
	}
	e.drops = dropLog{since: now}
	e.env.Log.Info(msg, args...)
}
