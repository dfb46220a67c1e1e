package httpcases

import (
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/icoc-dev/icoc/harness"
	"github.com/icoc-dev/icoc/spec"
	. "github.com/onsi/ginkgo/v2"
)

func fileNameText(v Version) string {
	return v.Name + " upload: the CAN data file is named YYYYMMDD_HHMMSS_<generation>_<function>_<counter>_<request ID>_<trigger>.<extension>, in UTC, lower-case extension"
}

func fileNameName(v Version) string { return harness.FormatName("A1.2", fileNameText(v)) }

// Appendix 1 §2 File name: "YYYYMMDD_HHMMSS_<generation>_<function>_<counter
// value>_<request ID>_<trigger identifier>.<extension>" [...] "<request ID>
// shall be set by the request ID which is set in the requested command."
// [...] "The extension should be in lower case" [...] "The date and time
// shall be as follows based on UTC (RFC3339)."
func (s *suite) fileName() {
	Describe("Appendix 1 §2 File name over "+s.v.Name, func() {
		It(harness.SpecName("A1.2", fileNameText(s.v)), harness.Labels(s.v.Label, harness.VehicleDUT), func(ctx SpecContext) {
			s.r().Requires(s.v.Cap, "data-upload")
			req := harness.Requirement{Clause: "Appendix 1 §2 (I-066)",
				Rule: "YYYYMMDD_HHMMSS_<generation>_<function>_<counter value>_<request ID>_<trigger identifier>.<extension>; extension in lower case; date and time in UTC"}
			s.speak()
			run := s.r()
			// The seed does not say which instant the file's time is
			// (I-066): anything from the oldest data the file may hold (a
			// periodic minute before the trigger, Table 5-1) to its arrival,
			// within 2 s of clock skew. A time-zone offset is 30 min or more.
			oldest := run.Clock.Wall(time.Minute + run.Profile.Tolerance.Allowed(time.Minute))
			before := time.Now().UTC().Add(-oldest).Truncate(time.Second)
			st := s.triggerUpload(ctx, true)
			// Any upload since the trigger: this spec judges the name itself,
			// so a request ID in another form must not hide the upload.
			anyUpload := stimulus{what: "an upload (POST /files/{filename})", since: st.since, keep: func(a harness.Attempt) bool {
				return strings.HasPrefix(a.Path, "/files/") && !a.ReceivedAt.Before(st.since)
			}}
			first := s.awaitFirst(req, anyUpload, 20*time.Second)
			if own := st.attempts(run); len(own) > 0 {
				first = own[0]
			}
			after := first.ReceivedAt.UTC()

			name := path.Base(first.Path)
			fn, err := spec.ParseFileName(name)
			if err != nil {
				Fail(harness.Verdict(req, "a file name of Appendix 1 §2", fmt.Sprintf("%q: %v", name, err)))
			}
			var bad []string
			if got, err := strconv.ParseUint(fn.RequestID, 10, 32); err != nil || uint32(got) != st.id {
				bad = append(bad, fmt.Sprintf("request ID %q, not the CAN trigger's %d", fn.RequestID, st.id))
			}
			if fn.Trigger != "c" {
				bad = append(bad, fmt.Sprintf("trigger identifier %q, not c (CAN/Ethernet communication trigger)", fn.Trigger))
			}
			if fn.Time.Before(before.Add(-2*time.Second)) || fn.Time.After(after.Add(2*time.Second)) {
				bad = append(bad, fmt.Sprintf("time %s, outside %s .. %s (UTC, ± 2 s)", fn.Time.Format(time.RFC3339), before.Format(time.RFC3339), after.Format(time.RFC3339)))
			}
			if len(bad) > 0 {
				Fail(harness.Verdict(req, fmt.Sprintf("request ID %d, trigger identifier c, a UTC time between the oldest data the file may hold and its arrival", st.id), fmt.Sprintf("%q: %s", name, strings.Join(bad, "; "))))
			}
		})
	})
}
