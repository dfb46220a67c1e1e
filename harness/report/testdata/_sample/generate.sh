#!/bin/sh
# Regenerates the Ginkgo JSON fixtures of harness/report's golden tests by
# running the sample suites here:
#   ../report.json          conformance, broken and uncompilable with
#                           --keep-going: failing specs, a failed BeforeSuite,
#                           a suite that does not compile;
#   ../report-stopped.json  broken then conformance without --keep-going:
#                           Ginkgo skips conformance after broken failed;
#   ../plan-stopped.json    the dry run of both (icoc conformance's plan).
# Several specs fail on purpose, so ginkgo exits non-zero; that is expected.
# Absolute paths are made relative to the repository (GOROOT and the module
# cache become $GOROOT and $GOMODCACHE), so the fixtures are the same on
# every machine.
# Run from anywhere: sh harness/report/testdata/_sample/generate.sh
# then: go test ./harness/report/ -update
set -u
cd "$(dirname "$0")/../../../.." || exit 1
root=$(pwd)
s=harness/report/testdata/_sample
out=$s/out
go tool ginkgo --keep-going --json-report=report.json --output-dir=$out \
	./$s/conformance ./$s/broken ./$s/uncompilable
mv $out/report.json harness/report/testdata/report.json
go tool ginkgo --json-report=report.json --output-dir=$out ./$s/broken ./$s/conformance
mv $out/report.json harness/report/testdata/report-stopped.json
go tool ginkgo --dry-run --json-report=report.json --output-dir=$out ./$s/broken ./$s/conformance
mv $out/report.json harness/report/testdata/plan-stopped.json
rmdir $out
for f in report.json report-stopped.json plan-stopped.json; do
	sed -i -e "s#$(go env GOMODCACHE)#\$GOMODCACHE#g" -e "s#$(go env GOROOT)#\$GOROOT#g" \
		-e "s#$root/##g" -e "s#$root#.#g" harness/report/testdata/$f
done
