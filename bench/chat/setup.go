package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/client"
)

// account is a user the bench made, with an API token.
type account struct {
	ID    string
	Token string
}

// group is a conversation of GroupSize load users.
type group struct {
	ID      string
	Members []int // indexes into fixture.users
}

// GroupSize is the number of members of each load group.
const GroupSize = 10

// catchFixture is a device behind: the user "catch" is in one conversation
// Messages behind and in Convs conversations holding Messages/Convs each.
type catchFixture struct {
	Catch    account
	Single   string           // the one conversation
	Spread   []string         // the conversations the spread variant is behind in
	Base     map[string]int64 // each conversation's seq before the backlog
	Last     map[string]int64 // and after it
	Messages int
}

// fixture is everything made once per run, before any measurement.
type fixture struct {
	runID  string
	users  []account
	groups []group
	catch  *catchFixture
}

const benchPassword = "bench-password-not-secret"

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newHTTPClient() *http.Client {
	return &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
		MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
	}}
}

// signup creates an account and an API token for it.
func signup(ctx context.Context, hc *http.Client, base, email, name string) (account, error) {
	c, err := client.New(base, client.WithHTTPClient(&http.Client{Timeout: hc.Timeout, Transport: hc.Transport}))
	if err != nil {
		return account{}, err
	}
	u, err := c.Signup(ctx, email, name, benchPassword)
	if err != nil {
		return account{}, fmt.Errorf("sign up %s: %w", email, err)
	}
	tok, err := c.CreateToken(ctx, "bench")
	if err != nil {
		return account{}, fmt.Errorf("token for %s: %w", email, err)
	}
	return account{ID: u.ID, Token: tok}, nil
}

func (f *fixture) tokenClient(base string, hc *http.Client, token string) *client.Client {
	c, _ := client.New(base, client.WithToken(token), client.WithHTTPClient(&http.Client{Timeout: hc.Timeout, Transport: hc.Transport}))
	return c
}

// makeLoadUsers signs up groups×GroupSize users (each costs the server an
// argon2id hash) and puts each in exactly one group of GroupSize, so that
// every message reaches exactly GroupSize connections.
func (f *fixture) makeLoadUsers(ctx context.Context, base string, groups int, progress func(string)) error {
	hc := newHTTPClient()
	n := groups * GroupSize
	f.users = make([]account, n)
	var done atomic.Int64
	start := time.Now()
	err := parallel(ctx, n, 8, func(ctx context.Context, i int) error {
		a, err := signup(ctx, hc, base, fmt.Sprintf("lg-%s-%d@bench.invalid", f.runID, i), "Load "+strconv.Itoa(i))
		f.users[i] = a
		if d := done.Add(1); d%100 == 0 {
			progress(fmt.Sprintf("  %d/%d users (%.0f/s)", d, n, float64(d)/time.Since(start).Seconds()))
		}
		return err
	})
	if err != nil {
		return err
	}
	f.groups = make([]group, groups)
	return parallel(ctx, groups, 8, func(ctx context.Context, g int) error {
		members := make([]int, GroupSize)
		ids := make([]string, 0, GroupSize-1)
		for j := range GroupSize {
			members[j] = g*GroupSize + j
			if j > 0 {
				ids = append(ids, f.users[g*GroupSize+j].ID)
			}
		}
		conv, err := f.tokenClient(base, hc, f.users[g*GroupSize].Token).CreateGroup(ctx, "load "+strconv.Itoa(g), ids)
		f.groups[g] = group{ID: conv.ID, Members: members}
		return err
	})
}

// makeCatchUp makes the catch-up fixture: a writer sends `messages`
// messages into one conversation and the same number spread over `convs`
// others, all of which the catching-up user is in but has not seen.
func (f *fixture) makeCatchUp(ctx context.Context, base string, messages, convs int, progress func(string)) error {
	hc := newHTTPClient()
	catch, err := signup(ctx, hc, base, "catch-"+f.runID+"@bench.invalid", "Catch")
	if err != nil {
		return err
	}
	writer, err := signup(ctx, hc, base, "writer-"+f.runID+"@bench.invalid", "Writer")
	if err != nil {
		return err
	}
	w := f.tokenClient(base, hc, writer.Token)
	cf := &catchFixture{Catch: catch, Messages: messages, Base: map[string]int64{}, Last: map[string]int64{}}
	single, err := w.CreateGroup(ctx, "catch-up", []string{catch.ID})
	if err != nil {
		return err
	}
	cf.Single = single.ID
	for i := range convs {
		c, err := w.CreateGroup(ctx, "catch-up "+strconv.Itoa(i), []string{catch.ID})
		if err != nil {
			return err
		}
		cf.Spread = append(cf.Spread, c.ID)
	}
	list, err := f.tokenClient(base, hc, catch.Token).Conversations(ctx)
	if err != nil {
		return err
	}
	for _, c := range list {
		cf.Base[c.ID] = c.LastSeq
	}
	// Fill them over HTTP, 16 at a time.
	type job struct {
		conv string
		n    int
	}
	var jobs []job
	for i := range messages {
		jobs = append(jobs, job{cf.Single, i})
	}
	for i := range messages / max(convs, 1) {
		for _, c := range cf.Spread {
			jobs = append(jobs, job{c, i})
		}
	}
	var sent atomic.Int64
	start := time.Now()
	err = parallel(ctx, len(jobs), 16, func(ctx context.Context, i int) error {
		j := jobs[i]
		if _, err := w.Send(ctx, j.conv, "c"+strconv.Itoa(j.n), fmt.Sprintf("backlog message %d", j.n)); err != nil {
			return err
		}
		if s := sent.Add(1); s%2000 == 0 {
			progress(fmt.Sprintf("  %d/%d backlog messages (%.0f/s)", s, len(jobs), float64(s)/time.Since(start).Seconds()))
		}
		return nil
	})
	if err != nil {
		return err
	}
	list, err = f.tokenClient(base, hc, catch.Token).Conversations(ctx)
	if err != nil {
		return err
	}
	for _, c := range list {
		cf.Last[c.ID] = c.LastSeq
	}
	f.catch = cf
	return nil
}

// parallel runs fn(0…n-1) with at most limit at once and returns the
// first error; after an error, the calls not yet started are skipped.
func parallel(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for range min(limit, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && ctx.Err() != nil {
		return err
	}
	return nil
}
