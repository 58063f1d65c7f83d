"""Forwards the rules_cc API to Bazel 4.2.3's native C++ rules.

Bazel's own tools (@bazel_tools, @local_config_cc) and our BUILD files load
`@rules_cc//cc:defs.bzl`. Debian's bazel-rules-cc package targets a newer Bazel
(it calls `use_cpp_toolchain`, which 4.2.3 lacks), and the built-in WORKSPACE
suffix would otherwise download rules_cc. The native rules are exactly what
rules_cc wrapped in the 4.x era, so forwarding is behaviour-preserving.

Every symbol loaded from this file by Bazel 4.2.3's embedded tools is
exported; loading a missing one fails at analysis with "file ... does not
contain symbol".
"""

def cc_binary(**attrs):
    native.cc_binary(**attrs)

def cc_library(**attrs):
    native.cc_library(**attrs)

def cc_test(**attrs):
    native.cc_test(**attrs)

def cc_import(**attrs):
    native.cc_import(**attrs)

def cc_proto_library(**attrs):
    native.cc_proto_library(**attrs)

def cc_toolchain(**attrs):
    native.cc_toolchain(**attrs)

def cc_toolchain_suite(**attrs):
    native.cc_toolchain_suite(**attrs)

def fdo_profile(**attrs):
    native.fdo_profile(**attrs)

def fdo_prefetch_hints(**attrs):
    native.fdo_prefetch_hints(**attrs)

def objc_library(**attrs):
    native.objc_library(**attrs)

def objc_import(**attrs):
    native.objc_import(**attrs)
