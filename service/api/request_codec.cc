#include "service/api/request_codec.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/proto_buffer_writer.h"
#include "service/common/errors.h"
#include "service/common/utf8.h"

namespace wink::webhooks::api {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::internal::WireFormatLite;

// Walks one message; returns false if the bytes cannot be walked, true
// otherwise, with `*error` set on the first invalid string.
//
// `depth` counts the messages entered so far. Past protobuf's own recursion
// limit the parser refuses the request anyway, so the walk gives up there:
// recursive types (google.protobuf.Struct) would otherwise let a small
// request nest deep enough to overflow the stack (a 390 KB PublishEventRequest,
// within max_request_bytes, did; fuzz/corpus/request_codec_fuzz/ keeps a 9 KB
// one that does under ASan).
bool Walk(const Descriptor& type, absl::string_view bytes, const std::string& prefix,
          absl::Status* error, int depth = 1) {
  if (depth > google::protobuf::io::CodedInputStream::GetDefaultRecursionLimit()) return false;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  std::vector<int> repeat_index(type.field_count(), 0);
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return true;
    const FieldDescriptor* field = type.FindFieldByNumber(WireFormatLite::GetTagFieldNumber(tag));
    const bool delimited =
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    if (field == nullptr || !delimited ||
        (field->type() != FieldDescriptor::TYPE_STRING &&
         field->type() != FieldDescriptor::TYPE_MESSAGE)) {
      if (!WireFormatLite::SkipField(&in, tag)) return false;
      continue;
    }
    std::string value;
    if (!WireFormatLite::ReadString(&in, &value)) return false;
    std::string path = prefix.empty() ? field->name() : absl::StrCat(prefix, ".", field->name());
    if (field->is_map()) {
      // A map entry is a message {key = 1; value = 2}. Check the key first, then
      // name the value by its key (which is valid by then).
      const Descriptor& entry = *field->message_type();
      google::protobuf::io::CodedInputStream entry_in(
          reinterpret_cast<const uint8_t*>(value.data()), static_cast<int>(value.size()));
      std::string key;
      std::string entry_value;
      for (uint32_t t = entry_in.ReadTag(); t != 0; t = entry_in.ReadTag()) {
        std::string* target = WireFormatLite::GetTagFieldNumber(t) == 1 ? &key : &entry_value;
        if (WireFormatLite::GetTagWireType(t) != WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
          if (!WireFormatLite::SkipField(&entry_in, t)) return false;
          continue;
        }
        if (!WireFormatLite::ReadString(&entry_in, target)) return false;
      }
      if (entry.map_key()->type() == FieldDescriptor::TYPE_STRING && !IsValidUtf8(key)) {
        *error = absl::InvalidArgumentError(absl::StrCat(path, ": keys must be valid UTF-8"));
        return true;
      }
      const std::string entry_path = absl::StrCat(path, "[", QuoteForError(key), "]");
      if (entry.map_value()->type() == FieldDescriptor::TYPE_STRING && !IsValidUtf8(entry_value)) {
        *error = absl::InvalidArgumentError(absl::StrCat(entry_path, ": must be valid UTF-8"));
        return true;
      }
      // Message values too: a google.protobuf.Struct is a map of Values,
      // whose strings protobuf's parser would refuse with only a log line.
      if (entry.map_value()->type() == FieldDescriptor::TYPE_MESSAGE) {
        if (!Walk(*entry.map_value()->message_type(), entry_value, entry_path, error, depth + 1)) {
          return false;
        }
        if (!error->ok()) return true;
      }
      continue;
    }
    if (field->is_repeated()) absl::StrAppend(&path, "[", repeat_index[field->index()]++, "]");
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      if (!IsValidUtf8(value)) {
        *error = absl::InvalidArgumentError(absl::StrCat(path, ": must be valid UTF-8"));
        return true;
      }
      continue;
    }
    if (!Walk(*field->message_type(), value, path, error, depth + 1)) return false;
    if (!error->ok()) return true;
  }
}

}  // namespace

absl::Status FindInvalidUtf8(const Descriptor& type, absl::string_view bytes,
                             absl::string_view path_prefix) {
  absl::Status error;
  Walk(type, bytes, std::string(path_prefix), &error);
  return error;
}

absl::Status ParseRequest(const grpc::ByteBuffer& bytes, google::protobuf::Message& request) {
  if (!bytes.Valid()) return absl::OkStatus();  // an empty message: all defaults
  grpc::Slice slice;
  // Requests are small; one contiguous copy keeps parsing and the UTF-8 walk
  // simple.
  if (!bytes.TrySingleSlice(&slice).ok() && !bytes.DumpToSingleSlice(&slice).ok()) {
    return absl::InvalidArgumentError("request: unreadable message");
  }
  const absl::string_view data(reinterpret_cast<const char*>(slice.begin()), slice.size());
  // Walk first: protobuf's own parser would also refuse invalid UTF-8, but it
  // writes an unstructured ERROR line to stderr for every such request.
  absl::Status invalid_utf8 = FindInvalidUtf8(*request.GetDescriptor(), data);
  if (!invalid_utf8.ok()) return invalid_utf8;
  if (request.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("request: not a valid ", request.GetDescriptor()->full_name()));
}

absl::Status SerializeResponse(const google::protobuf::Message& response, grpc::ByteBuffer& bytes) {
  bool own_buffer = false;
  const grpc::Status status =
      grpc::GenericSerialize<grpc::ProtoBufferWriter, google::protobuf::Message>(response, &bytes,
                                                                                 &own_buffer);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot serialize response: ", status.error_message()));
  }
  return absl::OkStatus();
}

}  // namespace wink::webhooks::api
