package realtime

// SetBlockingReads makes connections opened afterwards read on goroutines
// of their own (the path of TLS and non-Linux systems); it returns a
// function that restores the previous setting.
func SetBlockingReads(on bool) (restore func()) {
	old := blockingReads.Swap(on)
	return func() { blockingReads.Store(old) }
}

// Reading is how many connections a goroutine is reading now.
func (g *Gateway) Reading() int64 { return g.readers.Load() }
