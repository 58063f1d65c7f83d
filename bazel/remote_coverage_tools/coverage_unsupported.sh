#!/bin/sh
# Only reached by `bazel coverage`, which this offline workspace does not
# support. The CMake build measures coverage.
echo "bazel coverage is not supported in this workspace; use the CMake build" >&2
exit 1
