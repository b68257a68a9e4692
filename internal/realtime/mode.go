package realtime

import "sync/atomic"

// blockingReads makes every connection read on a goroutine of its own, as
// where the socket cannot be polled; tests set it to cover that path.
var blockingReads atomic.Bool
