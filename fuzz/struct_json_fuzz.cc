// StructToCanonicalJson (service/api/struct_json.h): the bytes of a
// PublishEvent's `data` that are stored, signed and compared for idempotent
// retries. Input: a google.protobuf.Struct in wire format.
//
// Invariants:
//  - an error is INVALID_ARGUMENT "data: ...";
//  - the output is a JSON object CheckJsonObject accepts;
//  - the output is canonical: read back by protobuf's JSON parser and
//    written again, it is the same bytes (what idempotency relies on).
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_check.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/json_util.h"
#include "service/api/struct_json.h"
#include "service/common/json.h"

namespace {

using ::google::protobuf::Struct;
using ::wink::webhooks::CheckJsonObject;
using ::wink::webhooks::api::StructToCanonicalJson;

// Deeper than anything protobuf's parser (recursion limit 100) can produce.
constexpr int kAnyDepth = 1000;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Parsing a string that is not UTF-8 logs an ERROR line per input.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Struct input;
  if (!input.ParseFromArray(data, static_cast<int>(size))) return 0;
  const auto json = StructToCanonicalJson(input, "data");
  if (!json.ok()) {
    FUZZ_CHECK(json.status().code() == absl::StatusCode::kInvalidArgument,
               json.status().ToString());
    FUZZ_CHECK(absl::StartsWith(json.status().message(), "data: "), json.status().ToString());
    return 0;
  }
  const absl::Status valid = CheckJsonObject(*json, "data", kAnyDepth);
  FUZZ_CHECK(valid.ok(), absl::StrCat(valid.ToString(), " in ", *json));

  Struct reread;
  const auto parsed = google::protobuf::util::JsonStringToMessage(*json, &reread);
  FUZZ_CHECK(parsed.ok(), absl::StrCat("protobuf cannot read ", *json, ": ", parsed.ToString()));
  const auto again = StructToCanonicalJson(reread, "data");
  FUZZ_CHECK(again.ok() && *again == *json,
             absl::StrCat("not canonical: ", *json, " -> ", again.ok() ? *again : ""));
  return 0;
}
