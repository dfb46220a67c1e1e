// Package uncompilable is a sample suite that does not compile (a type
// error, on purpose), so the fixture shows how Ginkgo reports a suite that
// never ran; see ../generate.sh.
package uncompilable

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestUncompilable(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "icoc sample: gRPC")
}

var _ = Describe("gRPC", func() {
	It("[7.2.4.5 T7-20 14] the DUT retried UNAVAILABLE", func() {
		var attempts int = "three" // does not compile, on purpose
		Expect(attempts).To(Equal(3))
	})
})
