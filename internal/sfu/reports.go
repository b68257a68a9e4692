package sfu

import (
	"time"

	"github.com/pion/rtcp"
)

// reportInterval is how often a subscriber gets sender reports.
const reportInterval = time.Second

// sendReports sends the subscriber a sender report (RFC 3550, 6.4.1) for
// every track it receives: which RTP time goes with the wall-clock time —
// what its browser needs to play audio and video in sync — and how much
// was sent. pion's report interceptor would do the same at the price of a
// lock and a clock reading on every packet to every subscriber; here the
// forwarding path counts with two atomic additions per copy, and reads
// the clock once per packet (outTrack).
func (p *Participant) sendReports() {
	p.mu.Lock()
	pc := p.sub
	var reports []rtcp.Packet
	for id, ssrc := range p.sendSSRCs {
		var local *outTrack
		if d := p.downs[id]; d != nil {
			local = d.local
		} else if t := p.subscribed[id]; t != nil {
			local = t.local
		}
		if local == nil {
			continue
		}
		// The clock now, not the ticker's (which may have waited): the
		// report pairs this time with the RTP time it computes from it.
		if sr := local.report(ssrc, time.Now()); sr != nil {
			reports = append(reports, sr)
		}
	}
	p.mu.Unlock()
	if pc != nil && len(reports) > 0 {
		_ = pc.WriteRTCP(reports) // a closed connection is cleaned up elsewhere
	}
}
