package center

import (
	"net/http"
	"sync"
	"time"
)

// apiCall serves 7.2.2.9.3, POST /api/{number}: the call is recorded and
// answered 200 with a SUCCESS Result. The vehicle identifier is checked as
// for uploads.
func (s *Server) apiCall(x *Exchange, pv func(string) string) Answer {
	if a, bad := s.checkVehicleID(x); bad {
		return a
	}
	s.calls.add(Call{VehicleID: x.Header.Get(s.cfg.VehicleIDHeader), Number: pv("number"), Body: append([]byte(nil), x.Body...), At: x.ReceivedAt})
	return resultAnswer(http.StatusOK, "API "+pv("number")+" called")
}

// Call is one API call the center accepted.
type Call struct {
	VehicleID string
	Number    string
	Body      []byte
	At        time.Time
	// Protocol is how the call came (HTTP's POST /api/{number}, or gRPC's
	// ApiService.CallApi with api_id Number); empty means HTTP.
	Protocol Protocol
}

type callLog struct {
	mu    sync.Mutex
	calls []Call
}

func (l *callLog) add(c Call) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
}

// Calls returns every API call accepted, in arrival order.
func (s *Server) Calls() []Call {
	s.calls.mu.Lock()
	defer s.calls.mu.Unlock()
	return append([]Call(nil), s.calls.calls...)
}
