// JSON text of a google.protobuf.Struct with a stable byte sequence: object
// keys sorted, numbers in their shortest round-trip form. protobuf's own
// printer writes map entries in hash order, which differs between two
// parses of the same request, so an idempotent retry of PublishEvent would
// not look like the same event.
#ifndef WINK_WEBHOOKS_SERVICE_API_STRUCT_JSON_H_
#define WINK_WEBHOOKS_SERVICE_API_STRUCT_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"

namespace wink::webhooks::api {

// INVALID_ARGUMENT "<field>: ..." for numbers JSON cannot hold (NaN,
// infinities) and for a Value with no kind set.
absl::StatusOr<std::string> StructToCanonicalJson(const google::protobuf::Struct& data,
                                                  absl::string_view field);

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_STRUCT_JSON_H_
