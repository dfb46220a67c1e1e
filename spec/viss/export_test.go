package vissspec

import "time"

func (Dialect) dummyTime() time.Time {
	return time.Date(2026, 6, 1, 12, 0, 0, 123456789, time.FixedZone("x", 3600))
}
