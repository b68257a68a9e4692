package sfu

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

func TestSubscribersGetSenderReports(t *testing.T) {
	s := newTestSFU(t)
	r, _ := s.Room("reports")
	pub := join(t, r, "pub", everything)
	sub := join(t, r, "sub", Permissions{Subscribe: true})
	sub.record.Store(true)
	pub.publish(Microphone, Camera)
	flowing(t, sub, 50, "pub:microphone", "pub:camera")

	type received struct {
		track string
		sr    *rtcp.SenderReport
		at    time.Time
	}
	got := make(chan received, 64)
	for _, rc := range sub.sub.GetReceivers() {
		tr := rc.Track()
		if tr == nil {
			continue
		}
		go func() {
			for {
				pkts, _, err := rc.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					if sr, ok := p.(*rtcp.SenderReport); ok && sr.SSRC == uint32(tr.SSRC()) {
						select {
						case got <- received{tr.ID(), sr, time.Now()}:
						default:
						}
					}
				}
			}
		}()
	}
	deadline := time.After(10 * time.Second)
	seen := map[string]bool{}
	for len(seen) < 2 {
		select {
		case <-deadline:
			t.Fatalf("sender reports for %v only", seen)
		case g := <-got:
			sr := g.sr
			if d := g.at.Sub(ntpToTime(sr.NTPTime)); d < -time.Second || d > time.Second {
				t.Fatalf("%s: the report's wall clock is %s off", g.track, d)
			}
			if sr.PacketCount < 10 || sr.OctetCount < sr.PacketCount*50 {
				t.Fatalf("%s: %d packets, %d bytes sent, says the report", g.track, sr.PacketCount, sr.OctetCount)
			}
			if g.track == "pub:camera" {
				// The report's RTP time is now on the stream's clock: close
				// to the newest packet's timestamp (a frame every 20 ms; the
				// report may have taken a while to be read here).
				rec := sub.recording(g.track)
				last := rec[len(rec)-1].ts
				if d := int32(sr.RTPTime - last); d < -90000 || d > 90000 {
					t.Fatalf("the report's RTP time is %d ticks from the newest packet's", d)
				}
			}
			seen[g.track] = true
		}
	}
}

// ntpToTime reads NTP's 64-bit format.
func ntpToTime(v uint64) time.Time {
	const since1900 = 2_208_988_800
	secs := int64(v>>32) - since1900
	nanos := int64((v & 0xffffffff) * uint64(time.Second) >> 32)
	return time.Unix(secs, nanos)
}
