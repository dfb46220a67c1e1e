// Package canfile is the format of the CAN data files the reference vehicle
// uploads (Appendix 1 §1: binary items are big endian), documented in
// FORMAT.md beside this file: a fixed header and one fixed-size record per
// frame, in bus order.
//
//	header:  magic "ICOCCAN" 0x01 (8 bytes) | version u16 | reserved u16 | count u32
//	record:  time u64 (Unix nanoseconds, UTC) | id u32 (bit 31: extended, bit 30: remote)
//	         | length u8 | data [8]byte (zero padded)
package canfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"go.einride.tech/can"
)

// Magic opens every CAN data file.
const Magic = "ICOCCAN\x01"

// Version is the format version this package writes and reads.
const Version = 1

const (
	headerSize = 16
	// RecordSize is the size of one frame record in bytes.
	RecordSize   = 8 + 4 + 1 + 8
	flagExtended = 1 << 31
	flagRemote   = 1 << 30
)

// Record is one frame as recorded: when the vehicle took it off the bus.
type Record struct {
	Time  time.Time
	Frame can.Frame
}

// Encode writes records in order.
func Encode(records []Record) []byte {
	out := make([]byte, headerSize, headerSize+len(records)*RecordSize)
	copy(out, Magic)
	binary.BigEndian.PutUint16(out[8:], Version)
	binary.BigEndian.PutUint32(out[12:], uint32(len(records)))
	var rec [RecordSize]byte
	for _, r := range records {
		binary.BigEndian.PutUint64(rec[0:], uint64(r.Time.UnixNano()))
		id := r.Frame.ID
		if r.Frame.IsExtended {
			id |= flagExtended
		}
		if r.Frame.IsRemote {
			id |= flagRemote
		}
		binary.BigEndian.PutUint32(rec[8:], id)
		rec[12] = r.Frame.Length
		copy(rec[13:], r.Frame.Data[:])
		out = append(out, rec[:]...)
	}
	return out
}

// Decode reads a file Encode wrote. The error names the byte offset and the
// record at fault.
func Decode(b []byte) ([]Record, error) {
	if len(b) < headerSize {
		return nil, fmt.Errorf("CAN data file: %d bytes, shorter than the %d-byte header", len(b), headerSize)
	}
	if !bytes.Equal(b[:8], []byte(Magic)) {
		return nil, errors.New("CAN data file: bad magic at offset 0")
	}
	if v := binary.BigEndian.Uint16(b[8:]); v != Version {
		return nil, fmt.Errorf("CAN data file: version %d at offset 8, want %d", v, Version)
	}
	n := int(binary.BigEndian.Uint32(b[12:]))
	body := b[headerSize:]
	if len(body) != n*RecordSize {
		return nil, fmt.Errorf("CAN data file: header says %d records (%d bytes), body has %d bytes", n, n*RecordSize, len(body))
	}
	out := make([]Record, n)
	for i := range out {
		rec := body[i*RecordSize : (i+1)*RecordSize]
		id := binary.BigEndian.Uint32(rec[8:])
		f := can.Frame{
			ID:         id &^ (flagExtended | flagRemote),
			IsExtended: id&flagExtended != 0,
			IsRemote:   id&flagRemote != 0,
			Length:     rec[12],
		}
		copy(f.Data[:], rec[13:])
		if err := f.Validate(); err != nil {
			return nil, fmt.Errorf("CAN data file: record %d at offset %d: %v", i, headerSize+i*RecordSize, err)
		}
		out[i] = Record{Time: time.Unix(0, int64(binary.BigEndian.Uint64(rec[0:]))).UTC(), Frame: f}
	}
	return out, nil
}
