package market

// Billing rules, in one place (docs/ARCHITECTURE.md, "The marketplace"):
//
//   - Billable time is the time both people were media-connected, measured
//     by the server (calls' presence intervals), never told by a client.
//   - Per minute: the minutes are the billable seconds rounded up to the
//     whole minute, and at least the listing's minimum once the session
//     happened at all; the charge is minutes × price.
//   - Per hour: the same minutes; the charge is price × minutes ÷ 60,
//     rounded half up to the minor unit.
//   - Per session: the price once both were connected at all.
//   - Free: nothing, and nothing is held.
//   - A session that never connected both people costs nothing.
//   - The charge never exceeds what was held: the meter ends a session
//     whose time runs past its hold unless the learner extends it.

// HoldBlockMinutes is the pre-authorised block of an open-ended
// per-minute session: 15 minutes at the listing's rate, extended in blocks
// while the session goes on and the learner agrees.
const HoldBlockMinutes = 15

// BilledMinutes is the billable seconds rounded up to whole minutes, and
// at least minMinutes once there was any billable time.
func BilledMinutes(seconds int64, minMinutes int) int64 {
	if seconds <= 0 {
		return 0
	}
	return max((seconds+59)/60, int64(minMinutes))
}

// Charge is what a session costs for its billable seconds.
func Charge(model string, price int64, minMinutes int, seconds int64) int64 {
	minutes := BilledMinutes(seconds, minMinutes)
	switch {
	case minutes == 0:
		return 0
	case model == PerMinute:
		return minutes * price
	case model == PerHour:
		return (price*minutes + 30) / 60
	case model == PerSession:
		return price
	}
	return 0
}

// HoldFor is what a session holds before it starts: the session's price,
// or its length at the rate (an open-ended per-minute session holds
// HoldBlockMinutes).
func HoldFor(model string, price int64, minMinutes int, sessionMinutes *int) int64 {
	minutes := HoldBlockMinutes
	if sessionMinutes != nil {
		minutes = *sessionMinutes
	} else if model == PerHour {
		minutes = 60
	}
	return Charge(model, price, minMinutes, int64(minutes)*60)
}

// CoveredSeconds is how much billable time a held amount pays for (the
// whole session for per-session prices).
func CoveredSeconds(model string, price, held int64, sessionMinutes *int) int64 {
	switch model {
	case PerMinute:
		return held / price * 60
	case PerHour:
		return held * 60 / price * 60 // whole minutes whose charge fits in held
	case PerSession:
		if sessionMinutes != nil {
			return int64(*sessionMinutes) * 60
		}
	}
	return 1 << 62
}
