// Page tokens of the List methods (service/api/page_token.h). Callers send
// back whatever they like as a page_token.
//
// Input: a parent, then a token (FuzzedDataProvider).
// Invariants:
//  - an error is INVALID_ARGUMENT "page_token: ...";
//  - a token that decodes is the one EncodePageToken makes for that parent
//    and id, byte for byte: tokens have one spelling, so a token is either
//    one the service issued or refused;
//  - Encode then Decode returns the id, for the same parent only.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_check.h"
#include "service/api/page_token.h"

namespace {

using ::wink::webhooks::api::DecodePageToken;
using ::wink::webhooks::api::EncodePageToken;

void CheckError(const absl::Status& status) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument, status.ToString());
  FUZZ_CHECK(absl::StartsWith(status.message(), "page_token: "), status.ToString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  const std::string parent = provider.ConsumeRandomLengthString(64);
  const std::string token = provider.ConsumeRemainingBytesAsString();

  const auto decoded = DecodePageToken(token, parent);
  if (!decoded.ok()) {
    CheckError(decoded.status());
  } else if (token.empty()) {
    FUZZ_CHECK(decoded->empty(), "an empty token gives an id");
  } else {
    FUZZ_CHECK(!decoded->empty(), "a token decodes to an empty id");
    FUZZ_CHECK(EncodePageToken(parent, *decoded) == token,
               absl::StrCat("token \"", token, "\" decodes but is spelled \"",
                            EncodePageToken(parent, *decoded), "\" when issued"));
  }

  // Resource names and ids never contain NUL (page_token.cc), and ids are
  // never empty.
  if (parent.find('\0') != std::string::npos || token.empty()) return 0;
  const std::string& id = token;
  const std::string issued = EncodePageToken(parent, id);
  const auto round_trip = DecodePageToken(issued, parent);
  FUZZ_CHECK(round_trip.ok() && *round_trip == id, "an issued token does not decode");
  const auto elsewhere = DecodePageToken(issued, parent + "x");
  FUZZ_CHECK(!elsewhere.ok(), "a token works for another parent");
  CheckError(elsewhere.status());
  return 0;
}
