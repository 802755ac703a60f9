package registry

import (
	"slices"
	"sync"
)

// keyLocks serializes work on one key in this process: the issues of a
// one-active type to one holder. Unlike striped locks, two different keys
// never wait for each other, so batches of distinct holders (an import's
// batches of 500 companies each) are issued at once instead of one after
// another: with 256 stripes, two batches of 500 holders almost surely
// shared a stripe.
type keyLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{} // key → closed when its holder unlocks
}

// lockAll locks every key, each once and in order (so that two callers
// never wait for each other), and returns the unlock.
func (l *keyLocks) lockAll(keys []string) func() {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	mine := make(chan struct{})
	for _, k := range keys {
		for {
			l.mu.Lock()
			if l.held == nil {
				l.held = make(map[string]chan struct{})
			}
			busy, ok := l.held[k]
			if !ok {
				l.held[k] = mine
				l.mu.Unlock()
				break
			}
			l.mu.Unlock()
			<-busy
		}
	}
	return func() {
		l.mu.Lock()
		for _, k := range keys {
			delete(l.held, k)
		}
		l.mu.Unlock()
		close(mine)
	}
}
