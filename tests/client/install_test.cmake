# The install test (ctest: client_install_test), run with cmake -P:
#   -DSOURCE_DIR=<the repository> -DCONSUMER_DIR=<install_consumer>
#   -DWORK_DIR=<scratch dir, emptied first>
# 1. runs the install recipe of docs/CLIENT.md as written there, in a fresh
#    build directory (WORK_DIR/build-release) and into WORK_DIR/prefix
#    instead of /opt/wink-webhooks: a recipe that works only in a tree
#    where more was built fails here;
# 2. checks what was installed (the client's files, and no tests),
# 3. configures, builds and runs the consumer project against the prefix,
# 4. runs the installed webhookctl.
cmake_minimum_required(VERSION 3.16)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

# The shell block after "install the client once:" in docs/CLIENT.md.
file(READ ${SOURCE_DIR}/docs/CLIENT.md client_md)
string(REGEX MATCH "install the client once:[\r\n]+```sh[\r\n]+([^`]*)```" block "${client_md}")
if(NOT block)
  message(FATAL_ERROR "docs/CLIENT.md: no install recipe after \"install the client once:\"")
endif()
string(REPLACE "build-release" "${WORK_DIR}/build-release" recipe "${CMAKE_MATCH_1}")
string(REPLACE "/opt/wink-webhooks" "${prefix}" recipe "${recipe}")
string(REGEX REPLACE "[\r\n]+$" "" recipe "${recipe}")
string(REPLACE "\n" ";" recipe_lines "${recipe}")
foreach(line ${recipe_lines})
  message(STATUS "recipe: ${line}")
  run(bash -c "cd '${SOURCE_DIR}' && ${line}")
endforeach()

foreach(expected
    include/wink/webhooks/client.h
    include/wink/webhooks/v1/webhook_service.pb.h
    include/wink/webhooks/v1/webhook_service.grpc.pb.h
    include/wink/webhooks/v1/delivery_service.pb.h
    include/wink/webhooks/v1/delivery_service.grpc.pb.h
    include/wink/webhooks/verify.h
    lib/libwebhooks_client.a
    lib/libwebhooks_api_proto.a
    lib/libwebhooks_verify.a
    lib/cmake/WinkWebhooks/WinkWebhooksConfig.cmake
    lib/cmake/WinkWebhooks/WinkWebhooksConfigVersion.cmake
    lib/cmake/WinkWebhooks/WinkWebhooksTargets.cmake
    bin/webhookctl)
  if(NOT EXISTS ${prefix}/${expected})
    message(FATAL_ERROR "not installed: ${expected}")
  endif()
endforeach()
file(GLOB_RECURSE installed RELATIVE ${prefix} ${prefix}/*)
foreach(file ${installed})
  if(file MATCHES "test|fake|bench|server")
    message(FATAL_ERROR "installed something that is not part of the client: ${file}")
  endif()
endforeach()

run(${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/consumer
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
run(${WORK_DIR}/consumer/consumer)
message(STATUS "consumer: ${run_output}")
if(NOT run_output MATCHES "UNAVAILABLE")
  message(FATAL_ERROR "consumer printed: ${run_output}")
endif()

run(${prefix}/bin/webhookctl help)
if(NOT run_output MATCHES "deliveries watch")
  message(FATAL_ERROR "installed webhookctl help printed: ${run_output}")
endif()

file(REMOVE_RECURSE ${WORK_DIR})
