package center

import (
	"net/http"
	"sync"
)

// download serves 7.2.2.9.4, GET /download/{filename}: a file the center
// offers is answered 200 with the file (application/octet-stream, register
// I-045); any other name 404 with an ERROR Result.
func (s *Server) download(x *Exchange, pv func(string) string) Answer {
	if a, bad := s.checkVehicleID(x); bad {
		return a
	}
	name := pv("filename")
	data, ok := s.offers.get(name)
	if !ok {
		return resultAnswer(http.StatusNotFound, "no file "+name+" to download")
	}
	h := http.Header{}
	h.Set("Content-Type", "application/octet-stream")
	return Answer{Status: http.StatusOK, Header: h, Body: data, By: "api"}
}

type offers struct {
	mu    sync.Mutex
	files map[string][]byte
}

func (o *offers) get(name string) ([]byte, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	b, ok := o.files[name]
	return b, ok
}

// Offer makes a file available for download under name (replacing one of
// the same name).
func (s *Server) Offer(name string, data []byte) {
	s.offers.mu.Lock()
	defer s.offers.mu.Unlock()
	if s.offers.files == nil {
		s.offers.files = map[string][]byte{}
	}
	s.offers.files[name] = append([]byte(nil), data...)
}
