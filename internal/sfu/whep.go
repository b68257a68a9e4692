package sfu

import (
	"fmt"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Watch serves a viewer that brings its own offer (WHEP): the answer
// carries the room's current tracks, at most one per media section the
// viewer asked to receive, video from a screen before a camera. A viewer
// is never renegotiated: tracks published later are not added, and a track
// that ends simply stops.
func (r *Room) Watch(id, offer string) (*Participant, string, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, "", ErrClosed
	}
	if _, ok := r.participants[id]; ok {
		return nil, "", ErrAlreadyJoined
	}
	if len(r.participants) >= r.sfu.cfg.MaxParticipants {
		return nil, "", ErrRoomFull
	}
	p := newParticipant(r, id, Permissions{}, nil)
	pc, est, gate, err := r.sfu.newSubscribeConnection()
	if err != nil {
		return nil, "", err
	}
	p.sub, p.estimator, p.ccGate = pc, est, gate
	p.watch(pc, "subscribe")
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		_ = pc.Close()
		return nil, "", fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	used := map[*forwardedTrack]bool{}
	pick := func(kind string) *forwardedTrack {
		prefer := map[string][]Source{"video": {Screen, Camera}, "audio": {Microphone, ScreenAudio}}[kind]
		for _, src := range prefer {
			for _, t := range r.tracks {
				if t.source == src && !used[t] {
					used[t] = true
					return t
				}
			}
		}
		return nil
	}
	for _, m := range sd.MediaDescriptions {
		kind := m.MediaName.Media
		if kind != "audio" && kind != "video" {
			continue
		}
		if t := pick(kind); t != nil {
			p.subscribe(t)
		}
	}
	answer, err := pc.CreateAnswer(nil)
	if err == nil {
		err = setLocalAndGather(pc, answer)
	}
	if err != nil {
		_ = pc.Close()
		return nil, "", fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	r.participants[id] = p
	return p, pc.LocalDescription().SDP, nil
}
