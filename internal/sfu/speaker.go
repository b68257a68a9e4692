package sfu

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Who is speaking comes from the audio level each sender's browser writes
// into its packets (RFC 6464), read in place without decoding any audio.

// Speaker is a participant heard recently, loudest first.
type Speaker struct {
	ParticipantID string `json:"participant_id"`
	Level         int    `json:"level"` // 0 (silence) to 127 (loudest), from the last speech heard
}

// Speech louder than this (in -dBov, 0 is loudest, 127 silence) counts.
const speechThreshold = 60

// speakerWindow is how long after its last loud packet a participant still
// counts as speaking.
const speakerWindow = 1500 * time.Millisecond

// audioLevelID returns the negotiated id of the audio level extension on a
// received track, or 0 when the sender does not send it.
func audioLevelID(receiver *webrtc.RTPReceiver) uint8 {
	for _, ext := range receiver.GetParameters().HeaderExtensions {
		if ext.URI == sdp.AudioLevelURI {
			return uint8(ext.ID)
		}
	}
	return 0
}

// parseAudioLevel finds the audio level in a raw RTP packet's one-byte
// header extensions (RFC 8285); ok is false when there is none.
func parseAudioLevel(pkt []byte, id uint8) (level uint8, ok bool) {
	if len(pkt) < 12 || pkt[0]&0x10 == 0 { // no extension
		return 0, false
	}
	offset := 12 + 4*int(pkt[0]&0x0f) // after the CSRCs
	if len(pkt) < offset+4 || binary.BigEndian.Uint16(pkt[offset:]) != 0xBEDE {
		return 0, false
	}
	length := 4 * int(binary.BigEndian.Uint16(pkt[offset+2:]))
	ext := pkt[offset+4:]
	if len(ext) < length {
		return 0, false
	}
	ext = ext[:length]
	for i := 0; i < len(ext); {
		if ext[i] == 0 { // padding
			i++
			continue
		}
		eid, size := ext[i]>>4, int(ext[i]&0x0f)+1
		if eid == 15 || i+1+size > len(ext) {
			return 0, false
		}
		if eid == id {
			return ext[i+1] & 0x7f, true
		}
		i += 1 + size
	}
	return 0, false
}

// noteLevel records a packet's audio level for the active speaker.
func (t *forwardedTrack) noteLevel(pkt []byte) {
	if t.levelID == 0 {
		return
	}
	dBov, ok := parseAudioLevel(pkt, t.levelID)
	if !ok || dBov > speechThreshold {
		return
	}
	t.loudness.Store(int64(127 - dBov))
	t.lastSpeech.Store(time.Now().UnixNano())
}

// speakers lists who spoke within the window, loudest first.
func (r *Room) speakersLocked(now time.Time) []Speaker {
	out := []Speaker{}
	for _, t := range r.tracks {
		if t.levelID == 0 || t.paused.Load() {
			continue
		}
		if now.UnixNano()-t.lastSpeech.Load() > int64(speakerWindow) {
			continue
		}
		out = append(out, Speaker{ParticipantID: t.owner.id, Level: int(t.loudness.Load())})
	}
	slices.SortFunc(out, func(a, b Speaker) int {
		if a.Level != b.Level {
			return b.Level - a.Level
		}
		if a.ParticipantID < b.ParticipantID {
			return -1
		}
		return 1
	})
	return out
}

// watchSpeakers tells everyone who is speaking whenever that changes.
func (r *Room) watchSpeakers(every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	var last []string
	for range tick.C {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return
		}
		speakers := r.speakersLocked(time.Now())
		ids := make([]string, len(speakers))
		for i, s := range speakers {
			ids[i] = s.ParticipantID
		}
		if !slices.Equal(ids, last) {
			last = ids
			for _, p := range r.participants {
				p.signal(Signal{Type: "speakers", Speakers: speakers})
			}
		}
		r.mu.Unlock()
	}
}
