package registry

import (
	"fmt"
	"testing"
	"time"
)

// Two batches of distinct holders lock at once; a batch that shares one
// holder with a batch in progress waits for it, and gets it once it ends.
func TestKeyLocksOnlySameKeysWait(t *testing.T) {
	var l keyLocks
	keys := func(from, n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("11100000000013338W001|holder-%d", from+i))
		}
		return out
	}
	first := l.lockAll(keys(0, 500))
	got := make(chan func(), 1)
	go func() { got <- l.lockAll(keys(500, 500)) }()
	select {
	case unlock := <-got:
		unlock()
	case <-time.After(5 * time.Second):
		t.Fatal("a batch of other holders waited for the batch in progress")
	}
	go func() { got <- l.lockAll(append(keys(1000, 10), "11100000000013338W001|holder-3")) }()
	select {
	case <-got:
		t.Fatal("a batch sharing a holder did not wait")
	case <-time.After(50 * time.Millisecond):
	}
	first()
	select {
	case unlock := <-got:
		unlock()
	case <-time.After(5 * time.Second):
		t.Fatal("the waiting batch did not get its holders once the first ended")
	}
	if len(l.held) != 0 {
		t.Errorf("%d keys still held after every unlock", len(l.held))
	}
}
