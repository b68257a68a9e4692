package sfu

import (
	"sync"
	"testing"
	"time"
)

// presence records a participant's OnConnected calls.
type presence struct {
	mu     sync.Mutex
	events []presenceEvent
}

type presenceEvent struct {
	on bool
	at time.Time
}

func (r *presence) hook(on bool, at time.Time) {
	r.mu.Lock()
	r.events = append(r.events, presenceEvent{on, at})
	r.mu.Unlock()
}

func (r *presence) list() []presenceEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]presenceEvent(nil), r.events...)
}

// checkAlternates fails unless the events go true, false, true, ... in
// time order.
func checkAlternates(t *testing.T, name string, evs []presenceEvent) {
	t.Helper()
	for i, e := range evs {
		if e.on != (i%2 == 0) {
			t.Fatalf("%s: event %d is %v: %+v", name, i, e.on, evs)
		}
		if i > 0 && e.at.Before(evs[i-1].at) {
			t.Fatalf("%s: event %d goes back in time: %+v", name, i, evs)
		}
	}
}

func TestOnConnectedFollowsAParticipantsMedia(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("presence")
	ana := join(t, r, "ana", everything)
	bo := join(t, r, "bo", everything)
	var anaP, boP presence
	ana.p.OnConnected(anaP.hook)
	before := time.Now()
	ana.publish(Microphone, Camera)
	// Bo only receives: his subscribe connection alone makes him connected.
	flowing(t, bo, 10, "ana:microphone", "ana:camera")
	// Set late, the hook hears at once that Bo is connected, and since when.
	bo.p.OnConnected(boP.hook)
	for name, rec := range map[string]*presence{"ana": &anaP, "bo": &boP} {
		evs := rec.list()
		if len(evs) != 1 || !evs[0].on || evs[0].at.Before(before) || evs[0].at.After(time.Now()) {
			t.Fatalf("%s: %+v, want one connected event since the publish", name, evs)
		}
	}
	if on, _ := ana.p.Connected(); !on {
		t.Fatal("ana is not connected")
	}

	// Ana's browser vanishes without a word: the SFU notices by itself.
	dropped := time.Now()
	ana.close()
	eventually(t, "ana to be reported disconnected", func() bool { return len(anaP.list()) >= 2 })
	evs := anaP.list()
	checkAlternates(t, "ana", evs)
	if evs[1].at.Before(dropped) {
		t.Fatalf("ana disconnected at %v, before she dropped at %v", evs[1].at, dropped)
	}
	if on, _ := ana.p.Connected(); on {
		t.Fatal("ana is still connected")
	}
	eventually(t, "ana to be removed", func() bool { return len(r.Participants()) == 1 })
	checkAlternates(t, "ana", anaP.list())
	if n := len(anaP.list()); n != 2 {
		t.Fatalf("ana: %d events after her removal, want 2: %+v", n, anaP.list())
	}

	// Leaving while connected is a disconnection of its own, reported by
	// the time Leave returns.
	carl := join(t, r, "carl", everything)
	var carlP presence
	carl.p.OnConnected(carlP.hook)
	carl.publish(Microphone)
	eventually(t, "carl to connect", func() bool { return len(carlP.list()) == 1 })
	carl.p.Leave()
	if evs := carlP.list(); len(evs) != 2 {
		t.Fatalf("carl after Leave: %+v, want connected then disconnected", evs)
	}
	checkAlternates(t, "carl", carlP.list())

	// The room's end disconnects everyone left.
	r.Close()
	if evs := boP.list(); len(evs) != 2 || evs[1].on {
		t.Fatalf("bo after the room closed: %+v", evs)
	}
	// A participant that left hears nothing more.
	var late presence
	carl.p.OnConnected(late.hook)
	if len(late.list()) != 0 {
		t.Fatalf("a hook set after leaving heard %+v", late.list())
	}
}
