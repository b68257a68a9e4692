package sfu

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// Signal is something the server tells one participant: an offer on its
// subscribe connection, an ICE candidate, or the room's current tracks.
type Signal struct {
	Type      string                   `json:"type"`         // offer, candidate, tracks
	PC        string                   `json:"pc,omitempty"` // publish or subscribe
	SDP       string                   `json:"sdp,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Tracks    []TrackInfo              `json:"tracks,omitempty"`
	Speakers  []Speaker                `json:"speakers,omitempty"` // type "speakers": who is talking, loudest first
	TrackID   string                   `json:"track_id,omitempty"` // type "layer": the simulcast track
	Layer     *LayerInfo               `json:"layer,omitempty"`    // type "layer": the layer now received
}

// TrackInfo describes a track someone publishes in the room. Its ID is the
// track id the subscriber's browser sees, and its stream id is the
// publisher's participant id.
type TrackInfo struct {
	ID            string `json:"id"`
	ParticipantID string `json:"participant_id"`
	Source        Source `json:"source"`
	Kind          string `json:"kind"`
	Paused        bool   `json:"paused"`
	// Simulcast tracks come in several sizes: say the size shown with
	// SetTrackPreference so the SFU sends no more than needed.
	Simulcast bool `json:"simulcast,omitempty"`
}

// Room is one call's media.
type Room struct {
	sfu *SFU
	id  string

	mu           sync.Mutex
	participants map[string]*Participant
	tracks       map[string]*forwardedTrack
	changed      chan struct{} // closed and replaced whenever tracks change
	closed       bool
}

func newRoom(s *SFU, id string) *Room {
	r := &Room{sfu: s, id: id, participants: map[string]*Participant{}, tracks: map[string]*forwardedTrack{}, changed: make(chan struct{})}
	go r.watchSpeakers(300 * time.Millisecond)
	go r.watchLayers()
	return r
}

// ID is the room's id.
func (r *Room) ID() string { return r.id }

// Join adds a participant. signal receives what the server has to tell it;
// it is called from the server's goroutines and must not block for long.
func (r *Room) Join(id string, perms Permissions, signal func(Signal)) (*Participant, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if _, ok := r.participants[id]; ok {
		return nil, ErrAlreadyJoined
	}
	if len(r.participants) >= r.sfu.cfg.MaxParticipants {
		return nil, ErrRoomFull
	}
	p := newParticipant(r, id, perms, signal)
	if perms.Subscribe {
		if err := p.openSubscriber(); err != nil {
			return nil, err
		}
		for _, t := range r.tracks {
			p.subscribe(t)
		}
	}
	r.participants[id] = p
	if perms.Subscribe && len(r.tracks) > 0 {
		go p.negotiate()
	}
	p.signal(Signal{Type: "tracks", Tracks: r.trackInfosLocked(id)})
	return p, nil
}

// Participants lists who is in the room.
func (r *Room) Participants() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.participants))
	for id := range r.participants {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// Participant returns a participant by id.
func (r *Room) Participant(id string) (*Participant, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.participants[id]
	return p, ok
}

// Tracks lists the tracks published in the room.
func (r *Room) Tracks() []TrackInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.trackInfosLocked("")
}

func (r *Room) trackInfosLocked(except string) []TrackInfo {
	out := []TrackInfo{}
	for _, t := range r.tracks {
		if t.owner.id != except {
			out = append(out, t.info())
		}
	}
	slices.SortFunc(out, func(a, b TrackInfo) int {
		if a.ParticipantID != b.ParticipantID {
			if a.ParticipantID < b.ParticipantID {
				return -1
			}
			return 1
		}
		if a.Source < b.Source {
			return -1
		}
		if a.Source > b.Source {
			return 1
		}
		return 0
	})
	return out
}

// WaitForTracks waits until someone publishes in the room and every track
// the publishers declared has started (or ctx ends).
func (r *Room) WaitForTracks(ctx context.Context) bool {
	for {
		r.mu.Lock()
		n, changed, closed := len(r.tracks), r.changed, r.closed
		declared := 0
		for _, p := range r.participants {
			p.mu.Lock()
			declared += len(p.sources)
			p.mu.Unlock()
		}
		r.mu.Unlock()
		if n > 0 && n >= declared {
			return true
		}
		if closed {
			return false
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// announceTracks tells everyone what is published now.
func (r *Room) announceTracksLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
	for id, p := range r.participants {
		infos := r.trackInfosLocked(id)
		p.signal(Signal{Type: "tracks", Tracks: infos})
	}
}

// addTrack makes a newly published track available to every subscriber.
func (r *Room) addTrack(t *forwardedTrack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.tracks[t.id] = t
	for id, p := range r.participants {
		if id != t.owner.id && p.perms.Subscribe {
			p.subscribe(t)
			go p.negotiate()
		}
	}
	r.announceTracksLocked()
}

// removeTrack takes an ended track away from its subscribers.
func (r *Room) removeTrack(t *forwardedTrack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tracks[t.id] != t {
		return
	}
	delete(r.tracks, t.id)
	for id, p := range r.participants {
		if id != t.owner.id && p.unsubscribe(t) {
			go p.negotiate()
		}
	}
	r.announceTracksLocked()
}

// leave removes a participant; the last one out closes the room.
func (r *Room) leave(p *Participant) {
	r.mu.Lock()
	if r.participants[p.id] != p {
		r.mu.Unlock()
		return
	}
	delete(r.participants, p.id)
	var gone []*forwardedTrack
	for _, t := range r.tracks {
		if t.owner == p {
			gone = append(gone, t)
		}
	}
	empty := len(r.participants) == 0
	r.mu.Unlock()
	for _, t := range gone {
		r.removeTrack(t)
	}
	if empty {
		r.Close()
	}
}

// Close ends the room for everyone.
func (r *Room) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	ps := make([]*Participant, 0, len(r.participants))
	for _, p := range r.participants {
		ps = append(ps, p)
	}
	r.participants = map[string]*Participant{}
	r.tracks = map[string]*forwardedTrack{}
	r.mu.Unlock()
	for _, p := range ps {
		p.close()
	}
	r.sfu.forget(r)
}
