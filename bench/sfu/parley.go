package sfu

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/parley-chat/parley/client"
)

// parleyTarget is `parley serve` on a fresh SQLite data folder. The
// publisher publishes with WHIP into a video call of a direct
// conversation; the subscribers are WHEP sessions of the other member.
type parleyTarget struct {
	exe                string
	base               string
	hc                 *http.Client
	call               string
	pubToken, subToken string
}

func (t *parleyTarget) name() string { return "parley" }

func (t *parleyTarget) start(ctx context.Context, dir string, maxSubs int) (*process, error) {
	httpPort, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	udpPort, err := freePort("udp")
	if err != nil {
		return nil, err
	}
	t.base = "http://127.0.0.1:" + strconv.Itoa(httpPort)
	args := []string{"serve", "--addr", "127.0.0.1:" + strconv.Itoa(httpPort), "--data-dir", filepath.Join(dir, "data"),
		"--rate-limit", "0", "--log-level", "warn",
		"--rtc-udp-port", strconv.Itoa(udpPort), "--rtc-tcp-port", "-1", "--turn-port", "-1",
		"--rtc-max-participants", strconv.Itoa(maxSubs + 10), "--ring-timeout", "24h"}
	p, err := startProcess("parley", filepath.Join(dir, "parley.log"), t.exe, args, cleanEnv())
	if err != nil {
		return nil, err
	}
	if err := p.waitHTTP(ctx, t.base+"/readyz"); err != nil {
		p.stop()
		return nil, err
	}
	t.hc = &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	if err := t.setup(ctx); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// setup makes the two accounts, their conversation, the call and tokens.
func (t *parleyTarget) setup(ctx context.Context) error {
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var clients [2]*client.Client
	var tokens [2]string
	var ids [2]string
	for i, who := range []string{"pub", "sub"} {
		// Each its own client: a client keeps its session cookie in its jar.
		c, err := client.New(t.base, client.WithHTTPClient(&http.Client{Timeout: time.Minute}))
		if err != nil {
			return err
		}
		u, err := c.Signup(ctx, who+"-"+run+"@bench.invalid", who, "bench-password-not-secret")
		if err != nil {
			return fmt.Errorf("sign up: %w", err)
		}
		tok, err := c.CreateToken(ctx, "bench")
		if err != nil {
			return fmt.Errorf("token: %w", err)
		}
		clients[i], tokens[i], ids[i] = c, tok, u.ID
	}
	conv, err := clients[0].OpenDirect(ctx, ids[1])
	if err != nil {
		return fmt.Errorf("conversation: %w", err)
	}
	call, err := clients[0].StartCall(ctx, conv.ID, "video")
	if err != nil {
		return fmt.Errorf("call: %w", err)
	}
	t.call, t.pubToken, t.subToken = call.ID, tokens[0], tokens[1]
	return nil
}

func (t *parleyTarget) publish(ctx context.Context, offer string) (string, error) {
	answer, _, err := postSDP(ctx, t.hc, t.base+"/api/v1/calls/"+t.call+"/whip", t.pubToken, offer)
	return answer, err
}

func (t *parleyTarget) subscribe(ctx context.Context, api *webrtc.API, i int, total *atomic.Int64) (*subscriber, error) {
	s, err := newSubscriber(api, total)
	if err != nil {
		return nil, err
	}
	offer, err := s.recvOffer()
	if err != nil {
		s.shutdown()
		return nil, err
	}
	answer, _, err := postSDP(ctx, t.hc, t.base+"/api/v1/calls/"+t.call+"/whep", t.subToken, offer)
	if err == nil {
		err = setAnswer(s.pc, answer)
	}
	if err != nil {
		s.shutdown()
		return nil, err
	}
	return s, nil
}
