# Small helpers that make each module's CMakeLists.txt read like its Bazel
# BUILD file: one call per target, names relative to the module.
#
#   webhooks_cc_library(NAME storage SRCS a.cc HDRS a.h DEPS common absl::status)
#     -> target `webhooks_storage` (alias `webhooks::storage`)
#   webhooks_cc_test(NAME storage_test SRCS storage_test.cc DEPS webhooks::storage)
#     -> executable `storage_test`, registered with CTest, linked with gtest_main
#   webhooks_cc_proto(NAME api_proto PROTOS wink/webhooks/v1/x.proto GRPC)
#     -> library with the generated .pb (and .grpc.pb) sources

include_guard(GLOBAL)
include(GNUInstallDirs)

# Sources live under service/<module>/; includes are written from the repo
# root, e.g. #include "service/storage/keys.h".
function(webhooks_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  set(target "webhooks_${ARG_NAME}")
  if(ARG_SRCS)
    add_library(${target} STATIC ${ARG_SRCS} ${ARG_HDRS})
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} PUBLIC ${ARG_DEPS})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${PROJECT_SOURCE_DIR})
    target_link_libraries(${target} INTERFACE ${ARG_DEPS})
  endif()
  add_library(webhooks::${ARG_NAME} ALIAS ${target})
endfunction()

function(webhooks_cc_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  set(properties TIMEOUT 300)
  if(ARG_LABELS)
    list(APPEND properties LABELS "${ARG_LABELS}")
  endif()
  gtest_discover_tests(${ARG_NAME} DISCOVERY_TIMEOUT 60 PROPERTIES ${properties})
endfunction()

# Generates C++ for PROTOS (paths relative to PROTO_ROOT, default
# ${PROJECT_SOURCE_DIR}/proto) into ${PROJECT_BINARY_DIR}/gen, so generated
# headers are included as e.g. "wink/webhooks/v1/webhook_service.pb.h".
function(webhooks_cc_proto)
  cmake_parse_arguments(ARG "GRPC" "NAME;PROTO_ROOT" "PROTOS;DEPS" ${ARGN})
  if(NOT ARG_PROTO_ROOT)
    set(ARG_PROTO_ROOT ${PROJECT_SOURCE_DIR}/proto)
  endif()
  set(out_dir ${PROJECT_BINARY_DIR}/gen)
  file(MAKE_DIRECTORY ${out_dir})
  set(srcs)
  set(hdrs)
  foreach(proto ${ARG_PROTOS})
    string(REGEX REPLACE "\\.proto$" "" stem ${proto})
    set(outputs ${out_dir}/${stem}.pb.cc ${out_dir}/${stem}.pb.h)
    set(plugin_args)
    if(ARG_GRPC)
      list(APPEND outputs ${out_dir}/${stem}.grpc.pb.cc ${out_dir}/${stem}.grpc.pb.h)
      set(plugin_args --grpc_out=${out_dir} --plugin=protoc-gen-grpc=${WEBHOOKS_GRPC_CPP_PLUGIN})
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND ${Protobuf_PROTOC_EXECUTABLE}
              -I${ARG_PROTO_ROOT} -I${PROJECT_SOURCE_DIR}/proto
              --cpp_out=${out_dir} ${plugin_args}
              ${ARG_PROTO_ROOT}/${proto}
      DEPENDS ${ARG_PROTO_ROOT}/${proto} ${Protobuf_PROTOC_EXECUTABLE}
      COMMENT "protoc ${proto}"
      VERBATIM)
    set(headers ${outputs})
    list(FILTER headers INCLUDE REGEX "\\.h$")
    list(APPEND hdrs ${headers})
    list(FILTER outputs INCLUDE REGEX "\\.cc$")
    list(APPEND srcs ${outputs})
  endforeach()
  add_library(${ARG_NAME} STATIC ${srcs})
  # BUILD_INTERFACE/INSTALL_INTERFACE so that a proto library can be
  # exported to installed users (client/lib installs api_proto); the
  # generated headers are then installed under <prefix>/include.
  target_include_directories(${ARG_NAME} PUBLIC
    $<BUILD_INTERFACE:${out_dir}> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  # The generated headers (absolute paths), for install rules.
  set_target_properties(${ARG_NAME} PROPERTIES WEBHOOKS_GENERATED_HEADERS "${hdrs}")
  target_link_libraries(${ARG_NAME} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(${ARG_NAME} PUBLIC gRPC::grpc++)
  endif()
  # Generated code is not ours to keep warning-free.
  set_target_properties(${ARG_NAME} PROPERTIES COMPILE_OPTIONS "-w")
endfunction()
