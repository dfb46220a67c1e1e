package center

import (
	"crypto/sha256"
	"sort"
	"sync"
	"time"
)

// StoredFile is one file the center accepted, by vehicle and name: its
// latest content. Puts counts how many times the same vehicle uploaded the
// same name (a retry after an error answer that nevertheless arrived counts
// again); each of them is a Delivery.
type StoredFile struct {
	VehicleID string
	Name      string
	Data      []byte
	SHA256    [32]byte
	First     time.Time
	Last      time.Time
	Puts      int
}

// Delivery is one upload the center accepted, as it arrived: a file
// delivered twice is two deliveries, whatever their names and contents.
type Delivery struct {
	VehicleID string
	Name      string
	Data      []byte
	SHA256    [32]byte
	// At is when the request arrived (the exchange's ReceivedAt).
	At time.Time
	// Seq numbers the deliveries in the order the center accepted them,
	// from 1.
	Seq int
}

// Store keeps the files the center accepted: every delivery, and by
// vehicle and name the latest one. Safe for concurrent use. Invariant:
// len(Deliveries()) is the sum of the Puts of Files().
type Store struct {
	mu         sync.Mutex
	files      map[[2]string]*StoredFile
	deliveries []Delivery
}

// NewStore returns an empty Store.
func NewStore() *Store { return &Store{files: map[[2]string]*StoredFile{}} }

// Put records one delivery of data under (vehicleID, name), received at
// at; the file of that name takes its content.
func (s *Store) Put(vehicleID, name string, data []byte, at time.Time) {
	s.put(vehicleID, name, append([]byte(nil), data...), at)
}

// put is Put of data the store may keep as it is (the caller's own copy).
func (s *Store) put(vehicleID, name string, data []byte, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := sha256.Sum256(data)
	s.deliveries = append(s.deliveries, Delivery{VehicleID: vehicleID, Name: name, Data: data, SHA256: sum, At: at, Seq: len(s.deliveries) + 1})
	k := [2]string{vehicleID, name}
	f := s.files[k]
	if f == nil {
		f = &StoredFile{VehicleID: vehicleID, Name: name, First: at}
		s.files[k] = f
	}
	f.Data = data
	f.SHA256 = sum
	f.Last = at
	f.Puts++
}

// Files returns a copy of every stored file (one per vehicle and name,
// its latest content), ordered by first arrival.
func (s *Store) Files() []StoredFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StoredFile, 0, len(s.files))
	for _, f := range s.files {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].First.Equal(out[j].First) {
			return out[i].First.Before(out[j].First)
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Deliveries returns every delivery in the order the center accepted
// them, a file delivered twice twice. The data is shared: do not modify it.
func (s *Store) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}
