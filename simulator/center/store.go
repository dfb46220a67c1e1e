package center

import (
	"crypto/sha256"
	"sort"
	"sync"
	"time"
)

// StoredFile is one file the center accepted. Puts counts how many times the
// same vehicle uploaded the same name (a retry after an error answer that
// nevertheless arrived counts again).
type StoredFile struct {
	VehicleID string
	Name      string
	Data      []byte
	SHA256    [32]byte
	First     time.Time
	Last      time.Time
	Puts      int
}

// Store keeps the files the center accepted, by vehicle and name. It is safe
// for concurrent use.
type Store struct {
	mu    sync.Mutex
	files map[[2]string]*StoredFile
}

// NewStore returns an empty Store.
func NewStore() *Store { return &Store{files: map[[2]string]*StoredFile{}} }

// Put stores data under (vehicleID, name), replacing earlier content.
func (s *Store) Put(vehicleID, name string, data []byte, at time.Time) {
	s.put(vehicleID, name, append([]byte(nil), data...), at)
}

// put is Put of data the store may keep as it is (the caller's own copy).
func (s *Store) put(vehicleID, name string, data []byte, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := [2]string{vehicleID, name}
	f := s.files[k]
	if f == nil {
		f = &StoredFile{VehicleID: vehicleID, Name: name, First: at}
		s.files[k] = f
	}
	f.Data = data
	f.SHA256 = sha256.Sum256(data)
	f.Last = at
	f.Puts++
}

// Files returns a copy of every stored file, ordered by first arrival.
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
