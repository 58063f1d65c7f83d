// What the fuzz targets that handle protobuf messages share.
#ifndef WINK_WEBHOOKS_FUZZ_FUZZ_PROTO_H_
#define WINK_WEBHOOKS_FUZZ_FUZZ_PROTO_H_

#include <string>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/message_lite.h"

namespace wink::webhooks::fuzz {

// `message` serialized deterministically (map entries sorted), so two equal
// messages give equal bytes: what the round-trip checks compare.
inline std::string DeterministicBytes(const google::protobuf::MessageLite& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

}  // namespace wink::webhooks::fuzz

#endif  // WINK_WEBHOOKS_FUZZ_FUZZ_PROTO_H_
