package center

import (
	"fmt"
	"net/http"
)

// upload serves 7.2.2.9.1, POST /files/{filename}: the vehicle uploads a
// data file named per Appendix 1 §2, identified by the vehicle_id header.
//
// A request that breaks the API gets a 4xx with an ERROR Result and is not
// stored: a vehicle_id that is missing, of the wrong length, or not the VIN
// of the client certificate (6.4: the center checks the unit against the
// vehicle); a file name that Appendix 1 §2 does not allow; a Content-Type
// that is none of the media types of 7.2.2.3.
func (s *Server) upload(x *Exchange, pv func(string) string) Answer {
	if a, bad := s.checkVehicleID(x); bad {
		return a
	}
	name := pv("filename")
	if _, err := s.fileNames.Parse(name); err != nil {
		return resultAnswer(http.StatusBadRequest, fmt.Sprintf("file name %q: %v (Appendix 1 §2)", name, err))
	}
	s.store.Put(x.Header.Get(s.cfg.VehicleIDHeader), name, x.Body, x.ReceivedAt)
	return resultAnswer(http.StatusOK, "file uploaded: "+name)
}

// checkVehicleID answers 400 when the vehicle identifier header is missing,
// has the wrong length, or differs from the client certificate's VIN.
func (s *Server) checkVehicleID(x *Exchange) (Answer, bool) {
	if s.apiQuirks.Has("no-vehicle-id-check") {
		return Answer{}, false
	}
	vids := x.Header.Values(s.cfg.VehicleIDHeader)
	switch {
	case len(vids) == 0:
		return resultAnswer(http.StatusBadRequest, "header "+s.cfg.VehicleIDHeader+" missing (7.2.2.3, 7.3)"), true
	case len(vids) > 1:
		return resultAnswer(http.StatusBadRequest, "header "+s.cfg.VehicleIDHeader+" given more than once"), true
	case len(vids[0]) != s.cfg.VehicleIDLength:
		return resultAnswer(http.StatusBadRequest, fmt.Sprintf("header %s %q: length %d, want %d", s.cfg.VehicleIDHeader, vids[0], len(vids[0]), s.cfg.VehicleIDLength)), true
	case x.VIN != "" && vids[0] != x.VIN:
		return resultAnswer(http.StatusBadRequest, fmt.Sprintf("header %s %q is not the VIN %q of the client certificate (6.4)", s.cfg.VehicleIDHeader, vids[0], x.VIN)), true
	}
	return Answer{}, false
}
