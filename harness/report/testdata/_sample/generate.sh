#!/bin/sh
# Regenerates ../report.json, the Ginkgo JSON fixture of harness/report's
# golden tests, by running the two sample suites here once. Several specs fail
# on purpose, so ginkgo exits non-zero; that is expected.
# Run from anywhere: sh harness/report/testdata/_sample/generate.sh
# then: go test ./harness/report/ -update
set -u
cd "$(dirname "$0")/../../../.." || exit 1
go tool ginkgo --keep-going --json-report=report.json --output-dir=harness/report/testdata/_sample/out \
	./harness/report/testdata/_sample/conformance ./harness/report/testdata/_sample/broken
mv harness/report/testdata/_sample/out/report.json harness/report/testdata/report.json
rmdir harness/report/testdata/_sample/out
