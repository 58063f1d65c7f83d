// CheckJsonObject (service/common/json.h) on arbitrary bytes, and the UTF-8
// checks it builds on (service/common/utf8.h).
//
// Invariants, besides "no crash, no sanitizer report":
//  - an error is INVALID_ARGUMENT "<field>: ...", and a byte offset it names
//    lies within the input (json.size() at most);
//  - IsValidUtf8 agrees with a second, independently written decoder, and
//    CountCodePoints of valid text counts its non-continuation bytes;
//  - a valid object stays valid inside another object (one level deeper) and
//    with whitespace around it; no strict prefix of it (trailing whitespace
//    trimmed) is valid;
//  - the input as a JSON string (AppendJsonString) makes a valid object iff
//    it is valid UTF-8: the checker and the writer agree on what a string is.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "service/common/json.h"
#include "service/common/utf8.h"

namespace {

using ::wink::webhooks::AppendJsonString;
using ::wink::webhooks::CheckJsonObject;
using ::wink::webhooks::CountCodePoints;
using ::wink::webhooks::IsValidUtf8;

// Written from RFC 3629's table of well-formed byte sequences rather than
// from bit arithmetic, so that it does not share utf8.cc's mistakes.
bool ReferenceIsValidUtf8(absl::string_view text) {
  size_t i = 0;
  const auto at = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const auto in = [](uint8_t b, uint8_t lo, uint8_t hi) { return b >= lo && b <= hi; };
  while (i < text.size()) {
    const uint8_t b0 = at(i);
    const size_t left = text.size() - i;
    if (b0 <= 0x7f) {
      i += 1;
    } else if (in(b0, 0xc2, 0xdf)) {
      if (left < 2 || !in(at(i + 1), 0x80, 0xbf)) return false;
      i += 2;
    } else if (in(b0, 0xe0, 0xef)) {
      if (left < 3) return false;
      const uint8_t lo = b0 == 0xe0 ? 0xa0 : 0x80;  // no overlong forms
      const uint8_t hi = b0 == 0xed ? 0x9f : 0xbf;  // no surrogates
      if (!in(at(i + 1), lo, hi) || !in(at(i + 2), 0x80, 0xbf)) return false;
      i += 3;
    } else if (in(b0, 0xf0, 0xf4)) {
      if (left < 4) return false;
      const uint8_t lo = b0 == 0xf0 ? 0x90 : 0x80;  // no overlong forms
      const uint8_t hi = b0 == 0xf4 ? 0x8f : 0xbf;  // nothing above U+10FFFF
      if (!in(at(i + 1), lo, hi) || !in(at(i + 2), 0x80, 0xbf) || !in(at(i + 3), 0x80, 0xbf)) {
        return false;
      }
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

void CheckErrorShape(const absl::Status& status, absl::string_view input, absl::string_view field) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument, status.ToString());
  FUZZ_CHECK(absl::StartsWith(status.message(), absl::StrCat(field, ": ")), status.ToString());
  const size_t at = status.message().rfind(" at byte ");
  if (at == absl::string_view::npos) return;
  size_t offset = 0;
  FUZZ_CHECK(absl::SimpleAtoi(status.message().substr(at + 9), &offset), status.ToString());
  FUZZ_CHECK(offset <= input.size(), status.ToString());
}

absl::string_view TrimTrailingJsonWhitespace(absl::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);

  const bool valid_utf8 = IsValidUtf8(input);
  FUZZ_CHECK(valid_utf8 == ReferenceIsValidUtf8(input), "IsValidUtf8 disagrees with RFC 3629");
  if (valid_utf8) {
    size_t lead_bytes = 0;
    for (char c : input) lead_bytes += (static_cast<uint8_t>(c) & 0xc0) != 0x80;
    FUZZ_CHECK(CountCodePoints(input) == lead_bytes, "CountCodePoints miscounts");
  }

  // A small depth limit makes the depth rule reachable with short inputs.
  constexpr int kDepth = 8;
  const absl::Status status = CheckJsonObject(input, "data_json", kDepth);
  if (!status.ok()) {
    CheckErrorShape(status, input, "data_json");
  } else {
    FUZZ_CHECK(CheckJsonObject(input, "data_json", kDepth + 1).ok(), "a deeper limit refuses");
    const std::string nested = absl::StrCat("{\"k\":", input, "}");
    FUZZ_CHECK(CheckJsonObject(nested, "data_json", kDepth + 1).ok(), "refused as a member");
    const std::string spaced = absl::StrCat(" \t\r\n", input, "\n ");
    FUZZ_CHECK(CheckJsonObject(spaced, "data_json", kDepth).ok(), "refused with whitespace");
    const absl::string_view trimmed = TrimTrailingJsonWhitespace(input);
    FUZZ_CHECK(!CheckJsonObject(trimmed.substr(0, trimmed.size() - 1), "data_json", kDepth).ok(),
               "a truncated object is accepted");
  }

  std::string quoted = "{\"s\":";
  AppendJsonString(quoted, input);
  quoted.push_back('}');
  const absl::Status string_status = CheckJsonObject(quoted, "s", 1);
  FUZZ_CHECK(string_status.ok() == valid_utf8,
             absl::StrCat("AppendJsonString output vs. checker: ", string_status.ToString()));
  return 0;
}
