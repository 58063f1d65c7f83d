// Decoding requests and encoding responses of the raw (ByteBuffer) gRPC
// methods the API registers.
//
// Why raw: when a request's string field holds invalid UTF-8, protobuf
// refuses the whole message and gRPC answers the caller with an empty-message
// error before any handler runs. Decoding here lets the service answer
// INVALID_ARGUMENT naming the field ("webhook.display_name: must be valid
// UTF-8"), like every other bad input.
#ifndef WINK_WEBHOOKS_SERVICE_API_REQUEST_CODEC_H_
#define WINK_WEBHOOKS_SERVICE_API_REQUEST_CODEC_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/byte_buffer.h"

namespace wink::webhooks::api {

// Parses `bytes` into `request`. INVALID_ARGUMENT naming the first string
// field with invalid UTF-8 (see FindInvalidUtf8), or saying the bytes are not
// a `request` at all.
absl::Status ParseRequest(const grpc::ByteBuffer& bytes, google::protobuf::Message& request);

// Serializes `response` into `bytes`. INTERNAL if serialization fails.
absl::Status SerializeResponse(const google::protobuf::Message& response, grpc::ByteBuffer& bytes);

// Walks the wire-format `bytes` of a message of type `type` and returns
// INVALID_ARGUMENT "<path>: must be valid UTF-8" for the first string field
// (also inside nested messages, repeated fields and maps) that is not valid
// UTF-8, with paths like `webhook.event_types[1]` or `webhook.headers["X-Key"]`.
// OK if every string is valid (or the bytes are too broken to walk, or nest
// messages deeper than protobuf's default recursion limit, 100, which
// protobuf's parser refuses anyway). Stack use is bounded by that limit.
absl::Status FindInvalidUtf8(const google::protobuf::Descriptor& type, absl::string_view bytes,
                             absl::string_view path_prefix = "");

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_REQUEST_CODEC_H_
