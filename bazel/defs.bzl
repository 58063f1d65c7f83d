"""webhooks_cc_test: a cc_test linked with gmock and gtest_main.

Mirrors webhooks_cc_test in cmake/WebhooksHelpers.cmake, which links every
test with GTest::gmock and GTest::gtest_main, so that each tests/*/BUILD file
reads like the CMakeLists.txt next to it: one call per test, listing only the
test's own dependencies.

Example (tests/storage/BUILD):

    load("//bazel:defs.bzl", "webhooks_cc_test")

    webhooks_cc_test(
        name = "keys_test",
        srcs = ["keys_test.cc"],
        tags = ["unit"],
        deps = ["//service/storage"],
    )
"""

load("@rules_cc//cc:defs.bzl", "cc_test")

_TEST_DEPS = [
    "@system//:gmock",
    "@system//:gtest_main",
]

def webhooks_cc_test(name, srcs, deps = [], tags = [], size = "small", **kwargs):
    """A cc_test `name` whose deps also include gmock and gtest_main.

    Args:
      name: name of the cc_test.
      srcs: as for cc_test.
      deps: the test's own dependencies. @system//:gmock and
        @system//:gtest_main are appended unless already listed.
      tags: as for cc_test (e.g. "unit", "component", "integration").
      size: as for cc_test; "small" unless given ("medium" for integration
        tests).
      **kwargs: any other cc_test attribute (data, local_defines, ...).
    """
    cc_test(
        name = name,
        srcs = srcs,
        deps = deps + [d for d in _TEST_DEPS if d not in deps],
        tags = tags,
        size = size,
        **kwargs
    )
