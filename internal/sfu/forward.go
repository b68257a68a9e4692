package sfu

import (
	"errors"
	"io"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// forwardedTrack carries one published track to every subscriber.
type forwardedTrack struct {
	id     string
	owner  *Participant
	source Source
	remote *webrtc.TrackRemote
	local  *webrtc.TrackLocalStaticRTP

	paused  atomic.Bool
	lastPLI atomic.Int64 // unix nanoseconds of the last keyframe request passed on

	levelID    uint8        // the audio level extension's id, 0 when absent
	loudness   atomic.Int64 // 0..127 of the last speech heard
	lastSpeech atomic.Int64 // unix nanoseconds
}

// pliInterval throttles keyframe requests passed to a publisher: many
// subscribers losing a frame at once must not flood it.
const pliInterval = 500 * time.Millisecond

func newForwardedTrack(owner *Participant, src Source, remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) (*forwardedTrack, error) {
	id := trackID(owner.id, src)
	local, err := webrtc.NewTrackLocalStaticRTP(remote.Codec().RTPCodecCapability, id, owner.id)
	if err != nil {
		return nil, err
	}
	t := &forwardedTrack{id: id, owner: owner, source: src, remote: remote, local: local}
	if remote.Kind() == webrtc.RTPCodecTypeAudio {
		t.levelID = audioLevelID(receiver)
	}
	return t, nil
}

func (t *forwardedTrack) info() TrackInfo {
	return TrackInfo{ID: t.id, ParticipantID: t.owner.id, Source: t.source, Kind: t.remote.Kind().String(), Paused: t.paused.Load()}
}

// forward copies RTP from the publisher to the subscribers until the
// publisher's track ends. While paused, packets are dropped here and never
// reach anyone.
func (t *forwardedTrack) forward() {
	buf := make([]byte, 1500)
	for {
		n, _, err := t.remote.Read(buf)
		if err != nil {
			return
		}
		if t.paused.Load() {
			continue
		}
		t.noteLevel(buf[:n])
		if _, err := t.local.Write(buf[:n]); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			return
		}
	}
}

// readFeedback reads a subscriber's RTCP for this track and passes
// keyframe requests on to the publisher, throttled.
func (t *forwardedTrack) readFeedback(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				now := time.Now().UnixNano()
				last := t.lastPLI.Load()
				if now-last >= int64(pliInterval) && t.lastPLI.CompareAndSwap(last, now) {
					t.owner.requestKeyframe(uint32(t.remote.SSRC()))
				}
			}
		}
	}
}
