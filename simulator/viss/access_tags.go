package viss

import (
	"bytes"
	"fmt"
	"sort"

	"go.yaml.in/yaml/v3"
)

// AccessTags returns the reference servers' access-control selection
// (data/access.yaml, register I-289): the nodes tagged read-write and
// those tagged write-only, each sorted.
func AccessTags() (readWrite, writeOnly []string, err error) {
	var t struct {
		Validate map[string]string `yaml:"validate"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(accessYAML))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return nil, nil, fmt.Errorf("viss access tags: %w", err)
	}
	for p, m := range t.Validate {
		switch m {
		case modeReadWrite:
			readWrite = append(readWrite, p)
		case modeWriteOnly:
			writeOnly = append(writeOnly, p)
		}
	}
	sort.Strings(readWrite)
	sort.Strings(writeOnly)
	return readWrite, writeOnly, nil
}
