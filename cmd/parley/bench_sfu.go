package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	benchsfu "github.com/parley-chat/parley/bench/sfu"
)

func newBenchSFUCommand(s streams) *cobra.Command {
	var (
		cfg       benchsfu.Config
		targets   string
		subs      string
		parleyExe string
	)
	cmd := &cobra.Command{
		Use:   "sfu",
		Short: "Measure call media end to end: one publisher to N subscribers, server CPU per forwarded packet",
		Long: `Measure the SFU end to end on this machine.

For each subscriber count, the command starts the server under test as a
separate process (parley serve on an empty SQLite data folder, or with
--galene a Galène binary built beside the project, for comparison), then
publishes one synthetic stream into it — VP8 at --fps frames a second
adding up to --video-kbps, a keyframe every --keyframe-interval and on
request, and Opus — from a Pion client over WHIP, and opens N Pion
subscribers (Parley: WHEP; Galène: its WebSocket protocol). After
--warmup it counts, for --duration, the RTP packets all subscribers
receive and the server's CPU time (utime+stime from /proc/<pid>/stat),
and reads its VmRSS. It reports CPU-seconds per million forwarded packets
and memory per subscriber (RSS with the subscribers less RSS with the
publisher alone, over N).

Media goes to the servers' host candidate on --media-ip (by default the
first non-loopback IPv4 address: Pion offers no loopback candidates by
default); the kernel carries it over the loopback device. The
subscribers run in this process, on the same cores as the server: read
the load-generator CPU the bench prints beside the server's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			cfg.ParleyExe = exe
			if parleyExe != "" {
				cfg.ParleyExe = parleyExe
			}
			for _, t := range strings.Split(targets, ",") {
				if t = strings.TrimSpace(t); t != "" {
					cfg.Targets = append(cfg.Targets, t)
				}
			}
			cfg.Subscribers, err = benchsfu.ParseCounts(subs)
			if err != nil {
				return err
			}
			if cfg.FPS <= 0 || cfg.VideoKbps <= 0 {
				return fmt.Errorf("--fps and --video-kbps must be positive")
			}
			rs, err := benchsfu.Run(cmd.Context(), cfg, s.out)
			if len(rs) > 0 {
				fmt.Fprint(s.out, "\n"+benchsfu.Table(rs))
			}
			if cfg.Rounds > 1 && len(rs) > 0 {
				fmt.Fprint(s.out, "\n"+benchsfu.Medians(rs))
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&targets, "targets", "parley", "servers to measure, comma-separated: parley, galene")
	f.StringVar(&cfg.GaleneExe, "galene", "", "path of a Galène binary for the galene target")
	f.StringVar(&parleyExe, "parley", "", "path of the parley binary to serve (default: this one; an older build gives a before/after comparison)")
	f.StringVar(&subs, "subscribers", "10,50,100", "subscriber counts, comma-separated; the server is restarted for each")
	f.DurationVar(&cfg.Warmup, "warmup", 10*time.Second, "media before measuring, once every subscriber is connected")
	f.DurationVar(&cfg.Duration, "duration", 30*time.Second, "measuring window")
	f.IntVar(&cfg.FPS, "fps", 30, "video frames per second")
	f.IntVar(&cfg.VideoKbps, "video-kbps", 1400, "video bitrate in kbit/s (frame size = bitrate / fps)")
	f.DurationVar(&cfg.KeyInterval, "keyframe-interval", 2*time.Second, "a keyframe at least this often")
	f.StringVar(&cfg.MediaIP, "media-ip", "", "local address media goes to (default: the first non-loopback IPv4)")
	f.StringVar(&cfg.JSON, "json", "", "also write the results as JSON to this file")
	f.BoolVar(&cfg.Keep, "keep", false, "keep each server's temporary folder (data and log)")
	f.IntVar(&cfg.Rounds, "rounds", 1, "repeat every measurement; targets alternate at each count within a round, and medians are printed")
	f.StringVar(&cfg.ProfileDir, "profile-dir", "", "record the server's CPU profile over each window with perf into this folder (perf report -i FILE)")
	return cmd
}
