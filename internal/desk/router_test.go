package desk

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/calls"
)

func TestTheLongestIdleAgentIsOfferedFirst(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		f.queue("phones")
		ana := f.agent("Ana", nil, "phones")
		f.clock.Advance(time.Minute)
		bo := f.agent("Bo", nil, "phones")
		f.clock.Advance(time.Minute)
		cy := f.agent("Cy", nil, "phones")

		r := f.open("phones", ChannelVideo, "Dana")
		if r.Status != Offered || r.Token == "" || r.Identity != "guest" || r.ConversationID == "" {
			t.Fatalf("a request with Ana free: %+v", r)
		}
		o := f.pending(ana.ID)
		f.noOffer(bo.ID)
		if o.Request == nil || o.Request.Name != "Dana" || o.Request.QueueName != "Phones" {
			t.Fatalf("the offer shows %+v", o.Request)
		}
		if got := f.news.kinds(ana.ID); !slices.Contains(got, "offer") {
			t.Fatalf("ana's devices were sent %v, want an offer", got)
		}
		// Ana holds one offer: the next customer rings Bo.
		r2 := f.open("phones", ChannelChat, "Eli")
		if f.pending(bo.ID).RequestID != r2.ID {
			t.Fatal("the second request did not go to Bo, next longest idle")
		}

		got, err := f.desk.Accept(f.ctx, ana.ID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != InSession || got.AgentID != ana.ID || got.CallID == "" || got.AnsweredAt == nil {
			t.Fatalf("accepted: %+v", got)
		}
		call, err := f.calls.Get(f.ctx, ana.ID, got.CallID)
		if err != nil {
			t.Fatal(err)
		}
		if call.Kind != calls.Help || call.Role(ana.ID) != calls.Helper || call.Role(r.CustomerID) != calls.Customer {
			t.Fatalf("the help call: %+v", call)
		}
		if f.status(ana.ID) != Busy {
			t.Fatalf("ana in a call is %s", f.status(ana.ID))
		}
		// A chat session does not fill Bo (3 chats by default).
		if _, err := f.desk.Accept(f.ctx, bo.ID, f.pending(bo.ID).ID); err != nil {
			t.Fatal(err)
		}
		if f.status(bo.ID) != Available {
			t.Fatalf("bo with one chat is %s", f.status(bo.ID))
		}
		// Cy has been idle longest of the free agents... but Bo went
		// available before Cy and still has room for chats.
		r3 := f.open("phones", ChannelChat, "Fay")
		if f.pending(bo.ID).RequestID != r3.ID {
			t.Fatal("a chat did not go to Bo, idle longest and with room")
		}
		// A video request cannot go to Bo, who is in a chat: Cy takes it.
		r4 := f.open("phones", ChannelVideo, "Gus")
		if f.pending(cy.ID).RequestID != r4.ID {
			t.Fatal("a video request did not go to Cy")
		}
	})
}

func TestSkillsDecideWhoMayTakeAQueue(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		f.queue("ios", func(in *QueueInput) { in.RequiredSkills = map[string]int{"ios": 3, "english": 1} })
		novice := f.agent("Novice", map[string]int{"ios": 2, "english": 5}, "ios")
		f.clock.Advance(time.Minute)
		mute := f.agent("Mute", map[string]int{"ios": 5}, "ios")
		f.clock.Advance(time.Minute)
		expert := f.agent("Expert", map[string]int{"ios": 4, "english": 2}, "ios")
		f.clock.Advance(time.Minute)
		f.agent("Elsewhere", map[string]int{"ios": 5, "english": 5}) // serves no queue

		r := f.open("ios", ChannelVideo, "Hal")
		if f.pending(expert.ID).RequestID != r.ID {
			t.Fatal("the request did not go to the only agent with both skills")
		}
		f.noOffer(novice.ID)
		f.noOffer(mute.ID)
	})
}

func TestAnOfferThatRingsOutGoesToTheNextAgentAndMissesSendAnAgentAway(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		f.queue("phones", func(in *QueueInput) { in.RingTimeoutSeconds = 20 })
		ana := f.agent("Ana", nil, "phones")
		f.clock.Advance(time.Minute)
		bo := f.agent("Bo", nil, "phones")

		r := f.open("phones", ChannelVideo, "Dana")
		first := f.pending(ana.ID)
		if !first.ExpiresAt.Equal(f.clock.Now().Add(20 * time.Second)) {
			t.Fatalf("the offer expires at %v", first.ExpiresAt)
		}
		f.clock.Advance(19 * time.Second)
		f.sweep()
		f.pending(ana.ID) // still ringing one second before the timeout
		f.clock.Advance(time.Second)
		f.sweep()
		f.noOffer(ana.ID)
		if f.pending(bo.ID).RequestID != r.ID {
			t.Fatal("the request did not move to Bo after Ana's offer rang out")
		}
		if _, err := f.desk.Accept(f.ctx, ana.ID, first.ID); !errors.Is(err, ErrOfferGone) {
			t.Fatalf("accepting an expired offer: %v, want ErrOfferGone", err)
		}
		if got := f.news.kinds(ana.ID); !slices.Contains(got, "offer_expired") {
			t.Fatalf("ana's devices were sent %v", got)
		}
		// Bo lets it ring out too: back to Ana (who has missed one), and when
		// she misses again — two in a row — she goes away.
		f.clock.Advance(20 * time.Second)
		f.sweep()
		if f.pending(ana.ID).RequestID != r.ID {
			t.Fatal("the request did not come back to Ana")
		}
		if f.status(ana.ID) != Available || f.status(bo.ID) != Available {
			t.Fatal("one miss sent someone away")
		}
		f.clock.Advance(20 * time.Second)
		f.sweep()
		if f.status(ana.ID) != Away {
			t.Fatalf("after two misses in a row Ana is %s, want away", f.status(ana.ID))
		}
		if f.pending(bo.ID).RequestID != r.ID {
			t.Fatal("the request did not go back to Bo")
		}
		// Taking an offer resets the count.
		if _, err := f.desk.Accept(f.ctx, bo.ID, f.pending(bo.ID).ID); err != nil {
			t.Fatal(err)
		}
		a, _ := f.desk.Agent(f.ctx, bo.ID)
		if a.MissedInRow != 0 {
			t.Fatalf("bo's missed count after accepting: %d", a.MissedInRow)
		}
		if got := f.request(r.ID); got.Status != InSession || got.AgentID != bo.ID {
			t.Fatalf("the request: %+v", got)
		}
	})
}

func TestADeclinedOfferGoesToSomeoneElseAndAnAgentWhoStepsAwayLetsGo(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		f.queue("phones")
		ana := f.agent("Ana", nil, "phones")
		f.clock.Advance(time.Minute)
		bo := f.agent("Bo", nil, "phones")
		r := f.open("phones", ChannelVideo, "Dana")
		if err := f.desk.Decline(f.ctx, ana.ID, f.pending(ana.ID).ID); err != nil {
			t.Fatal(err)
		}
		o := f.pending(bo.ID)
		if o.RequestID != r.ID {
			t.Fatal("a declined request did not go to Bo")
		}
		f.noOffer(ana.ID) // Ana declined it; she is not rung again while Bo is
		if err := f.desk.Decline(f.ctx, ana.ID, o.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("declining someone else's offer: %v", err)
		}
		if _, err := f.desk.SetStatus(f.ctx, bo.ID, Away); err != nil {
			t.Fatal(err)
		}
		if f.pending(ana.ID).RequestID != r.ID {
			t.Fatal("when Bo stepped away the request did not come back to Ana")
		}
		if _, err := f.desk.Accept(f.ctx, bo.ID, o.ID); !errors.Is(err, ErrOfferGone) {
			t.Fatalf("accepting a withdrawn offer: %v", err)
		}
	})
}

// TestNoDoubleOffersUnderConcurrentDispatchAndAccepts runs two desks (two
// nodes) over one database, each dispatching from several goroutines while
// every agent's two devices accept their offers at the same moment: no
// agent ever holds two offers, no request is offered twice at once, and
// each accepted request has exactly one agent.
func TestNoDoubleOffersUnderConcurrentDispatchAndAccepts(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		f.queue("phones", func(in *QueueInput) { in.MaxWaiting = 500 })
		const agents, requests = 8, 40
		var ids []string
		for i := range agents {
			ids = append(ids, f.agent("Agent"+string(rune('A'+i)), nil, "phones").ID)
			f.clock.Advance(time.Second)
		}
		var reqs []string
		for range requests {
			reqs = append(reqs, f.open("phones", ChannelChat, "Guest").ID)
		}
		nodes := []*Service{f.desk, f.node()}
		accepted := map[string]string{} // request → agent
		var mu sync.Mutex
		for round := 0; round < requests; round++ {
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Go(func() {
					if _, err := nodes[i%2].Dispatch(f.ctx); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			checkOfferInvariants(t, f)
			// Every agent's two devices press Accept at once.
			for _, agent := range ids {
				os, err := f.desk.Offers(f.ctx, agent)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range os {
					results := make(chan error, 2)
					for d := range 2 {
						wg.Go(func() {
							_, err := nodes[d].Accept(f.ctx, agent, o.ID)
							results <- err
						})
					}
					wg.Wait()
					close(results)
					wins := 0
					for err := range results {
						switch {
						case err == nil:
							wins++
						case !errors.Is(err, ErrOfferGone):
							t.Fatalf("accept: %v", err)
						}
					}
					if wins != 1 {
						t.Fatalf("offer %s was accepted %d times", o.ID, wins)
					}
					mu.Lock()
					if prev, dup := accepted[o.RequestID]; dup {
						t.Fatalf("request %s accepted by %s and %s", o.RequestID, prev, agent)
					}
					accepted[o.RequestID] = agent
					mu.Unlock()
					// End at once so the agent can take more (no wrap-up in the way).
					if _, err := f.desk.End(f.ctx, agent, o.RequestID); err != nil {
						t.Fatal(err)
					}
					if _, err := f.desk.WrapUp(f.ctx, agent, o.RequestID, "resolved", ""); err != nil {
						t.Fatal(err)
					}
				}
			}
			if len(accepted) == requests {
				break
			}
		}
		if len(accepted) != requests {
			t.Fatalf("%d of %d requests were answered", len(accepted), requests)
		}
		for _, id := range reqs {
			if r := f.request(id); r.Status != Ended || r.AgentID != accepted[id] {
				t.Fatalf("request %s: %+v", id, r)
			}
		}
	})
}

func checkOfferInvariants(t *testing.T, f *fixture) {
	t.Helper()
	for _, q := range []string{
		`SELECT COUNT(*) FROM (SELECT agent_id FROM desk_offers WHERE state = 'pending' GROUP BY agent_id HAVING COUNT(*) > 1) x`,
		`SELECT COUNT(*) FROM (SELECT request_id FROM desk_offers WHERE state = 'pending' GROUP BY request_id HAVING COUNT(*) > 1) x`,
		`SELECT COUNT(*) FROM desk_requests r WHERE r.status = 'offered' AND NOT EXISTS (
			SELECT 1 FROM desk_offers o WHERE o.request_id = r.id AND o.state = 'pending')`,
	} {
		var n int
		if err := f.d.QueryRowContext(f.ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("%s: %d", q, n)
		}
	}
}

func TestARequestSurvivesARestartOfTheRouter(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		f.queue("phones")
		ana := f.agent("Ana", nil, "phones")
		if _, err := f.desk.SetStatus(f.ctx, ana.ID, Away); err != nil {
			t.Fatal(err)
		}
		first := f.open("phones", ChannelVideo, "First")
		f.clock.Advance(time.Second)
		second := f.open("phones", ChannelVideo, "Second")
		// A new process (same database) finds them in the same order.
		restarted := f.node()
		r, err := restarted.Get(f.ctx, Viewer{UserID: second.CustomerID}, second.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Position != 2 || r.Status != Waiting {
			t.Fatalf("after a restart the second customer is %+v", r)
		}
		if _, err := restarted.SetStatus(f.ctx, ana.ID, Available); err != nil {
			t.Fatal(err)
		}
		if f.pending(ana.ID).RequestID != first.ID {
			t.Fatal("after the restart the first in line was not offered first")
		}
	})
}

func TestAColdTransferPutsTheCustomerAtTheFrontOfTheNextQueue(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		f.queue("phones", func(in *QueueInput) { in.WrapUpSeconds = new(int) })
		f.queue("tablets")
		ana := f.agent("Ana", nil, "phones")
		bo := f.agent("Bo", nil, "tablets")
		if _, err := f.desk.SetStatus(f.ctx, bo.ID, Away); err != nil {
			t.Fatal(err)
		}
		r := f.open("phones", ChannelVideo, "Dana")
		session, err := f.desk.Accept(f.ctx, ana.ID, f.pending(ana.ID).ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.calls.Join(f.ctx, r.CustomerID, session.CallID); err != nil { // the customer's device answers
			t.Fatal(err)
		}
		f.clock.Advance(time.Minute)
		later := f.openOn("tablets", "Later") // waits: Bo is away
		if _, err := f.desk.Transfer(f.ctx, bo.ID, r.ID, TransferInput{Queue: "tablets"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("someone else transferring Ana's session: %v", err)
		}
		moved, err := f.desk.Transfer(f.ctx, ana.ID, r.ID, TransferInput{Queue: "tablets"})
		if err != nil {
			t.Fatal(err)
		}
		if moved.Status != Waiting || moved.QueueName != "Tablets" || moved.Position != 1 || moved.Transfers != 1 || moved.AgentID != "" {
			t.Fatalf("after a cold transfer: %+v", moved)
		}
		if f.status(ana.ID) != Available {
			t.Fatalf("after a cold transfer Ana is %s", f.status(ana.ID))
		}
		call, _ := f.calls.Get(f.ctx, r.CustomerID, session.CallID)
		if call.State != "active" || memberState(call, ana.ID) != "left" {
			t.Fatalf("the call after Ana left it: %+v", call)
		}
		if _, err := f.desk.SetStatus(f.ctx, bo.ID, Available); err != nil {
			t.Fatal(err)
		}
		if f.pending(bo.ID).RequestID != r.ID {
			t.Fatalf("Bo was offered %s before the transferred customer (and %s)", f.pending(bo.ID).RequestID, later.ID)
		}
		taken, err := f.desk.Accept(f.ctx, bo.ID, f.pending(bo.ID).ID)
		if err != nil {
			t.Fatal(err)
		}
		call, _ = f.calls.Get(f.ctx, r.CustomerID, session.CallID)
		if taken.CallID != session.CallID || call.Role(bo.ID) != calls.Helper || memberState(call, bo.ID) != "ringing" {
			t.Fatalf("Bo was not rung into the same call as helper: %+v", call)
		}
		if !taken.AnsweredAt.Equal(*session.AnsweredAt) {
			t.Fatal("a transfer changed when the request was first answered")
		}
	})
}

func TestAWarmTransferKeepsTheFirstAgentUntilTheNextAccepts(t *testing.T) {
	each(t, func(t *testing.T, f *fixture) {
		f.queue("phones", func(in *QueueInput) { in.WrapUpSeconds = new(int) })
		ana := f.agent("Ana", nil, "phones")
		bo := f.agent("Bo", nil, "phones")
		cy := f.agent("Cy", nil, "phones")
		r := f.open("phones", ChannelVideo, "Dana")
		session, err := f.desk.Accept(f.ctx, ana.ID, f.pending(ana.ID).ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.calls.Join(f.ctx, r.CustomerID, session.CallID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.SetStatus(f.ctx, cy.ID, Away); err != nil {
			t.Fatal(err)
		}
		if _, err := f.desk.Transfer(f.ctx, ana.ID, r.ID, TransferInput{Agent: cy.ID, Warm: true}); !errors.Is(err, ErrAgentUnavailable) {
			t.Fatalf("a transfer to an agent who is away: %v", err)
		}
		if got := f.request(r.ID); got.Status != InSession || got.AgentID != ana.ID || got.Transfers != 0 {
			t.Fatalf("a refused transfer changed the session: %+v", got)
		}
		moved, err := f.desk.Transfer(f.ctx, ana.ID, r.ID, TransferInput{Agent: bo.ID, Warm: true})
		if err != nil {
			t.Fatal(err)
		}
		if moved.Status != Offered || moved.WarmAgentID != ana.ID {
			t.Fatalf("during a warm transfer: %+v", moved)
		}
		if f.status(ana.ID) != Busy {
			t.Fatalf("during a warm transfer Ana is %s, want still busy", f.status(ana.ID))
		}
		taken, err := f.desk.Accept(f.ctx, bo.ID, f.pending(bo.ID).ID)
		if err != nil {
			t.Fatal(err)
		}
		if taken.AgentID != bo.ID || taken.WarmAgentID != "" || f.status(ana.ID) != Available || f.status(bo.ID) != Busy {
			t.Fatalf("after Bo took it: %+v; Ana %s, Bo %s", taken, f.status(ana.ID), f.status(bo.ID))
		}
		call, _ := f.calls.Get(f.ctx, r.CustomerID, taken.CallID)
		if memberState(call, ana.ID) != "left" || call.Role(bo.ID) != calls.Helper {
			t.Fatalf("the call after the hand-over: %+v", call)
		}
	})
}

func memberState(c calls.Call, userID string) string {
	for _, m := range c.Members {
		if m.UserID == userID {
			return m.State
		}
	}
	return ""
}

func (f *fixture) openOn(queue, name string) Request {
	f.t.Helper()
	return f.open(queue, ChannelVideo, name)
}
