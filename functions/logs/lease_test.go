package logs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	lt "github.com/envhub/envhub/infra/local/localtest"
	"github.com/envhub/envhub/shared/errs"
	"github.com/envhub/envhub/shared/store"
)

// A user's subscriptions are leased in one item: racing subscribes and
// unsubscribes never pass the bound, and never leave a lease behind that
// would lock the user out (an unsubscribe moves the item's version on, so
// a subscribe that read the lease cannot write it back).
func TestSubscriptionLeases(t *testing.T) {
	e := lt.New(t)
	st, ctx := e.Deps.Store, context.Background()
	exp := time.Now().Add(time.Hour)
	for c := 0; c < 6; c++ {
		if err := st.PutConnection(ctx, store.Connection{ID: fmt.Sprintf("c%d", c), Subject: "carol", Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	sub := func(c, i int) store.Subscription {
		return store.Subscription{Connection: fmt.Sprintf("c%d", c), ID: fmt.Sprintf("s%d", i), Subject: "carol", Gen: 1}
	}
	// 30 at once over 6 connections (5 each): at most 20 are taken.
	var mu sync.Mutex
	var taken []store.Subscription
	var wg sync.WaitGroup
	for c := 0; c < 6; c++ {
		for i := 0; i < 5; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := st.Subscribe(ctx, sub(c, i), exp)
				if err == nil {
					mu.Lock()
					taken = append(taken, sub(c, i))
					mu.Unlock()
				} else if !errors.Is(err, errs.ErrConflict) {
					t.Errorf("subscribe: %v", err)
				}
			}()
		}
	}
	wg.Wait()
	if len(taken) > store.MaxUserSubscriptions || len(taken) == 0 {
		t.Fatalf("%d subscriptions taken", len(taken))
	}
	// Unsubscribe them all while others subscribe: what remains is exactly
	// what the leases count.
	var more []store.Subscription
	for _, s := range taken {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := st.Unsubscribe(ctx, "carol", s.Connection, s.ID, 0); err != nil {
				t.Errorf("unsubscribe: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			s2 := s
			s2.ID += "b"
			if err := st.Subscribe(ctx, s2, exp); err == nil {
				mu.Lock()
				more = append(more, s2)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, s := range more {
		if err := st.Unsubscribe(ctx, "carol", s.Connection, s.ID, 0); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing is left: twenty fit again, the twenty-first does not.
	for i := 0; i < store.MaxUserSubscriptions+1; i++ {
		err := st.Subscribe(ctx, store.Subscription{Connection: fmt.Sprintf("c%d", i/4), ID: fmt.Sprintf("again%d", i), Subject: "carol", Gen: 1}, exp)
		if i < store.MaxUserSubscriptions && err != nil || i == store.MaxUserSubscriptions && !errors.Is(err, errs.ErrConflict) {
			t.Fatalf("subscription %d after all were ended: %v", i+1, err)
		}
	}
}
