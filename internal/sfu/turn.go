package sfu

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v4"
	"github.com/pion/webrtc/v4"
)

// turnServer is the embedded TURN relay for clients whose network lets no
// direct media through. It relays only to this node's own media addresses:
// it is not an open relay into the network it runs in.
type turnServer struct {
	server *turn.Server
	conn   net.PacketConn
	secret string
}

// CredentialTTL is how long TURN credentials handed to a client last.
const CredentialTTL = 12 * time.Hour

func startTURN(cfg Config, ownIPs []net.IP) (*turnServer, error) {
	conn, err := net.ListenPacket("udp4", net.JoinHostPort(cfg.ListenIP, strconv.Itoa(max(cfg.TURNPort, 0))))
	if err != nil {
		return nil, fmt.Errorf("sfu: TURN port: %w", err)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	t := &turnServer{conn: conn, secret: base64.RawStdEncoding.EncodeToString(secret)}

	relayIP := net.ParseIP(cfg.ListenIP)
	if len(cfg.PublicIPs) > 0 {
		relayIP = net.ParseIP(cfg.PublicIPs[0])
	}
	if relayIP == nil || relayIP.IsUnspecified() {
		relayIP = firstUsable(ownIPs)
	}
	bind := cfg.ListenIP
	if bind == "" {
		bind = "0.0.0.0"
	}
	logs := logging.NewDefaultLoggerFactory()
	logs.DefaultLogLevel = logging.LogLevelError
	t.server, err = turn.NewServer(turn.ServerConfig{
		Realm:         "parley",
		LoggerFactory: logs,
		AuthHandler:   turn.LongTermTURNRESTAuthHandler(t.secret, logs.NewLogger("turn")),
		PacketConnConfigs: []turn.PacketConnConfig{{
			PacketConn:            conn,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: relayIP, Address: bind},
			PermissionHandler: func(_ net.Addr, peer net.IP) bool {
				return slices.ContainsFunc(ownIPs, func(ip net.IP) bool { return ip.Equal(peer) })
			},
		}},
	})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("sfu: TURN: %w", err)
	}
	return t, nil
}

func (t *turnServer) close() {
	_ = t.server.Close()
}

// ownAddresses lists the addresses this node's media may be reached at.
func ownAddresses(cfg Config) []net.IP {
	var out []net.IP
	for _, s := range cfg.PublicIPs {
		if ip := net.ParseIP(s); ip != nil {
			out = append(out, ip)
		}
	}
	if ip := net.ParseIP(cfg.ListenIP); ip != nil && !ip.IsUnspecified() {
		return append(out, ip)
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			out = append(out, n.IP)
		}
	}
	return out
}

func firstUsable(ips []net.IP) net.IP {
	for _, ip := range ips {
		if ip.To4() != nil && !ip.IsLoopback() {
			return ip
		}
	}
	return net.IPv4(127, 0, 0, 1)
}

// ICEServers returns what a client needs to reach this node's media
// through TURN: time-limited credentials for user, at host (the name the
// client used to reach the server, unless public IPs are configured).
func (s *SFU) ICEServers(host, user string) []webrtc.ICEServer {
	if s.turn == nil {
		return []webrtc.ICEServer{}
	}
	if len(s.cfg.PublicIPs) > 0 {
		host = s.cfg.PublicIPs[0]
	}
	username, password, err := turn.GenerateLongTermTURNRESTCredentials(s.turn.secret, user, CredentialTTL)
	if err != nil {
		return []webrtc.ICEServer{}
	}
	port := s.turn.conn.LocalAddr().(*net.UDPAddr).Port
	return []webrtc.ICEServer{{
		URLs:       []string{fmt.Sprintf("turn:%s?transport=udp", net.JoinHostPort(host, strconv.Itoa(port)))},
		Username:   username,
		Credential: password,
	}}
}
