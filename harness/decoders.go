package harness

import "github.com/icoc-dev/icoc/simulator/canfile"

// Decoder turns one CAN data file a DUT uploaded into the frames it
// recorded, in the order it recorded them; a file it cannot read is an
// error naming where.
type Decoder struct {
	// Doc says where the format is described.
	Doc string
	// Decode decodes one file.
	Decode func(b []byte) ([]canfile.Record, error)
}

// DefaultDecoder is the decoder of a profile that names none: the
// reference vehicle's format.
const DefaultDecoder = "icoc-canfile-v1"

// Decoders are the CAN data file decoders a profile may name (`decoder:`).
// A DCM whose files have another format gets a decoder added here.
var Decoders = map[string]Decoder{
	DefaultDecoder: {Doc: "simulator/canfile/FORMAT.md: big-endian header and 21-byte records", Decode: canfile.Decode},
}

// decoder is the profile's decoder name, DefaultDecoder when unset.
func (p *Profile) decoder() string {
	if p.Decoder == "" {
		return DefaultDecoder
	}
	return p.Decoder
}
