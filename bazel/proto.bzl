"""wink_cc_proto: C++ (and gRPC) code from .proto files with Debian's protoc.

Bazel's proto_library/cc_proto_library would download and build protobuf from
source, which this offline workspace cannot do. Instead a genrule runs the
system /usr/bin/protoc (and /usr/bin/grpc_cpp_plugin), so generated code always
matches the installed libprotobuf/libgrpc++ headers, exactly as in the CMake
build.

Layout contract
---------------
* A target lives in a package under its *proto root* (`proto_root`, relative to
  the repository root; default "proto"). Import paths and C++ include paths
  are relative to that root: proto/wink/webhooks/v1/foo.proto is imported as
  "wink/webhooks/v1/foo.proto" and its header is included as
  "wink/webhooks/v1/foo.pb.h" (".grpc.pb.h" for the service stubs).
* `deps` are other wink_cc_proto targets with the same proto root. Their
  .proto files, transitively, are inputs of the generation step: the sandbox
  only contains declared inputs, so an import of an undeclared dependency
  fails with "File not found", as it should.
* google/protobuf/*.proto (timestamp, duration, field_mask, empty, struct, ...)
  can always be imported; their C++ code is in libprotobuf.

Example (proto/wink/webhooks/v1/BUILD):

    load("//bazel:proto.bzl", "wink_cc_proto")

    wink_cc_proto(
        name = "webhook_service_cc_proto",
        srcs = ["webhook_service.proto"],
        grpc = True,
        deps = ["//proto/wink/webhooks/internal/v1:records_cc_proto"],
    )
"""

_PROTOC = "@system//:bin/protoc"
_GRPC_PLUGIN = "@system//:bin/grpc_cpp_plugin"
_WELL_KNOWN_PROTOS = "@system//:well_known_protos"

# The proto root of _WELL_KNOWN_PROTOS in the execution root.
_WELL_KNOWN_PROTOS_ROOT = "external/system/include"

def _join(*parts):
    return "/".join([p for p in parts if p])

def _proto_srcs_label(dep):
    """The transitive-.proto filegroup that wink_cc_proto creates for `dep`."""
    if ":" not in dep:
        # "//a/b" is shorthand for "//a/b:b".
        dep = dep + ":" + dep.split("/")[-1]
    return dep + "_proto_srcs"

def wink_cc_proto(
        name,
        srcs,
        deps = [],
        grpc = False,
        proto_root = "proto",
        visibility = None,
        testonly = None):
    """Generates C++ code for `srcs` and wraps it in a cc_library `name`.

    Args:
      name: name of the cc_library. Also defines `<name>_gen` (the genrule) and
        `<name>_proto_srcs` (these .proto files plus those of all deps).
      srcs: .proto files in this package, as paths relative to it (not labels).
      deps: other wink_cc_proto targets whose .proto files `srcs` import.
      grpc: also run grpc_cpp_plugin (*.grpc.pb.h/.cc) and depend on grpc++.
        Needed only for files that declare services.
      proto_root: directory, relative to the repository root, that import
        paths and include paths are relative to. "" means the repository root
        (used for third-party trees such as @grpc_proto).
      visibility: visibility of the cc_library and of `<name>_proto_srcs`.
      testonly: passed to all generated targets.
    """
    package = native.package_name()
    if proto_root and package != proto_root and not package.startswith(proto_root + "/"):
        fail("wink_cc_proto: package '%s' is not under proto_root '%s'" % (package, proto_root))
    package_in_root = package[len(proto_root):].lstrip("/")

    # Where this repository's files live relative to the execution root,
    # which is the working directory of the genrule.
    repo = native.repository_name()
    repo_root = "" if repo == "@" else "external/" + repo[1:]
    exec_proto_root = _join(repo_root, proto_root) or "."

    hdrs = []
    cc_srcs = []
    for src in srcs:
        if not src.endswith(".proto") or ":" in src:
            fail("wink_cc_proto: srcs must be .proto paths in this package, got '%s'" % src)
        stem = src[:-len(".proto")]
        hdrs.append(stem + ".pb.h")
        cc_srcs.append(stem + ".pb.cc")
        if grpc:
            hdrs.append(stem + ".grpc.pb.h")
            cc_srcs.append(stem + ".grpc.pb.cc")

    native.filegroup(
        name = name + "_proto_srcs",
        srcs = srcs + [_proto_srcs_label(dep) for dep in deps],
        testonly = testonly,
        visibility = visibility,
    )

    # protoc names outputs by import path, so writing to the proto root's
    # output directory puts each file exactly at its declared `outs` path.
    out_dir = "$(GENDIR)/" + exec_proto_root
    cmd = [
        "$(execpath %s)" % _PROTOC,
        "--proto_path=" + exec_proto_root,
        "--proto_path=" + _WELL_KNOWN_PROTOS_ROOT,
        "--cpp_out=" + out_dir,
    ]
    tools = [_PROTOC]
    if grpc:
        cmd += [
            "--plugin=protoc-gen-grpc=$(execpath %s)" % _GRPC_PLUGIN,
            "--grpc_out=" + out_dir,
        ]
        tools.append(_GRPC_PLUGIN)

    # Only this target's own files are compiled. The deps' files, also in
    # <name>_proto_srcs, are there to be imported; compiling them here would
    # write outputs this genrule does not declare.
    cmd += [_join(exec_proto_root, package_in_root, src) for src in srcs]

    native.genrule(
        name = name + "_gen",
        srcs = [":" + name + "_proto_srcs", _WELL_KNOWN_PROTOS],
        outs = hdrs + cc_srcs,
        cmd = " ".join(cmd),
        tools = tools,
        message = "Running protoc for",
        testonly = testonly,
        visibility = ["//visibility:private"],
    )

    cc_deps = ["@system//:protobuf"] + deps
    if grpc:
        cc_deps.append("@system//:grpc++")

    native.cc_library(
        name = name,
        srcs = cc_srcs,
        hdrs = hdrs,
        # Makes "wink/webhooks/v1/foo.pb.h" includable (not
        # "proto/wink/webhooks/v1/foo.pb.h"), which is also what the
        # generated code itself includes.
        strip_include_prefix = ("/" + proto_root) if proto_root else None,
        deps = cc_deps,
        testonly = testonly,
        visibility = visibility,
    )
