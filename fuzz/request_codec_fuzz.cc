// ParseRequest / FindInvalidUtf8 / SerializeResponse
// (service/api/request_codec.h): the first code to see a caller's bytes.
// The first input byte picks the request type; the rest is its wire format.
//
// Invariants:
//  - an error is INVALID_ARGUMENT, either "<path>: must be valid UTF-8" /
//    "<path>: keys must be valid UTF-8" or "request: not a valid <type>";
//  - a request that parses holds valid UTF-8 in every string field, however
//    deeply nested (the promise the handlers rely on);
//  - SerializeResponse of a parsed request, parsed again, gives an equal
//    message, and FindInvalidUtf8 finds nothing in that serialization.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_proto.h"
#include "google/protobuf/message.h"
#include "google/protobuf/stubs/logging.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "service/api/request_codec.h"
#include "service/common/utf8.h"
#include "wink/webhooks/v1/delivery_service.pb.h"
#include "wink/webhooks/v1/webhook_service.pb.h"

namespace {

namespace fuzz = ::wink::webhooks::fuzz;

using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;
using ::wink::webhooks::IsValidUtf8;
using ::wink::webhooks::api::FindInvalidUtf8;
using ::wink::webhooks::api::ParseRequest;
using ::wink::webhooks::api::SerializeResponse;
namespace v1 = ::wink::webhooks::v1;

// The request types with the most structure: nested messages, repeated
// fields, maps and a google.protobuf.Struct.
const Message* const kPrototypes[] = {
    &v1::CreateWebhookRequest::default_instance(),
    &v1::UpdateWebhookRequest::default_instance(),
    &v1::PublishEventRequest::default_instance(),
    &v1::BatchPublishEventsRequest::default_instance(),
    &v1::ListWebhooksRequest::default_instance(),
    &v1::ListDeliveriesRequest::default_instance(),
    &v1::WatchDeliveriesRequest::default_instance(),
    &v1::ListEventsRequest::default_instance(),
};

// Where the first string field with invalid UTF-8 is, or "" if none.
std::string FindBadString(const Message& message, const std::string& path) {
  const Reflection& reflection = *message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection.ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    const std::string here = absl::StrCat(path, ".", field->name());
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection.FieldSize(message, field); ++i) {
          if (!IsValidUtf8(reflection.GetRepeatedString(message, field, i))) return here;
        }
      } else if (!IsValidUtf8(reflection.GetString(message, field))) {
        return here;
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection.FieldSize(message, field); ++i) {
          std::string bad = FindBadString(reflection.GetRepeatedMessage(message, field, i), here);
          if (!bad.empty()) return bad;
        }
      } else {
        std::string bad = FindBadString(reflection.GetMessage(message, field), here);
        if (!bad.empty()) return bad;
      }
    }
  }
  return "";
}

grpc::ByteBuffer ToBuffer(absl::string_view bytes) {
  grpc::Slice slice(bytes.data(), bytes.size());
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Bytes too broken for FindInvalidUtf8 to walk reach protobuf's parser,
  // which logs an ERROR line for each string that is not UTF-8.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  constexpr size_t kTypes = sizeof(kPrototypes) / sizeof(kPrototypes[0]);
  const Message& prototype = *kPrototypes[data[0] % kTypes];
  const absl::string_view wire(reinterpret_cast<const char*>(data + 1), size - 1);

  std::unique_ptr<Message> request(prototype.New());
  const absl::Status status = ParseRequest(ToBuffer(wire), *request);
  if (!status.ok()) {
    FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument, status.ToString());
    FUZZ_CHECK(absl::EndsWith(status.message(), ": must be valid UTF-8") ||
                   absl::EndsWith(status.message(), ": keys must be valid UTF-8") ||
                   status.message() == absl::StrCat("request: not a valid ",
                                                    prototype.GetDescriptor()->full_name()),
               status.ToString());
    return 0;
  }
  const std::string bad = FindBadString(*request, prototype.GetDescriptor()->name());
  FUZZ_CHECK(bad.empty(), "accepted invalid UTF-8 in " + bad);

  grpc::ByteBuffer serialized;
  const absl::Status serialize_status = SerializeResponse(*request, serialized);
  FUZZ_CHECK(serialize_status.ok(), serialize_status.ToString());
  std::unique_ptr<Message> again(prototype.New());
  const absl::Status again_status = ParseRequest(serialized, *again);
  FUZZ_CHECK(again_status.ok(), "own serialization refused: " + again_status.ToString());
  // Compared as deterministic (map-sorted) bytes: MessageDifferencer would
  // call a NaN in a Struct different from itself.
  const std::string bytes = fuzz::DeterministicBytes(*request);
  FUZZ_CHECK(bytes == fuzz::DeterministicBytes(*again), "serialize + parse changes the request");
  FUZZ_CHECK(FindInvalidUtf8(*prototype.GetDescriptor(), bytes).ok(),
             "FindInvalidUtf8 complains about a valid request's serialization");
  return 0;
}
