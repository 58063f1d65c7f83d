// Minimal JSON support for payloads the service passes through but never
// interprets: a strict validity check and string quoting. There is no DOM.
#ifndef WINK_WEBHOOKS_SERVICE_COMMON_JSON_H_
#define WINK_WEBHOOKS_SERVICE_COMMON_JSON_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace wink::webhooks {

// Default for CheckJsonObject's `max_depth`.
inline constexpr int kDefaultJsonMaxDepth = 64;

// OK iff `json` is exactly one RFC 8259 JSON value whose top level is an
// object, optionally surrounded by JSON whitespace (space, tab, CR, LF):
//  - strings hold well-formed UTF-8 (no overlong forms, no encoded surrogates,
//    nothing above U+10FFFF) and no raw control characters (< 0x20); a
//    "\uD800"-"\uDBFF" escape must be followed directly by a "\uDC00"-"\uDFFF"
//    escape, and a low-surrogate escape may not stand alone;
//  - numbers follow the RFC grammar: optional '-', no leading zeros, no '+',
//    no NaN/Infinity, digits required after '.' and after the exponent;
//  - objects and arrays nest at most `max_depth` deep, the top-level object
//    counting as 1 (so max_depth <= 0 rejects everything).
// Duplicate keys are allowed (the RFC only says SHOULD be unique).
//
// Otherwise INVALID_ARGUMENT "<field>: <what> at byte <offset>", where offset
// is the 0-based position of the offending byte (the opening quote for an
// unterminated string, the backslash for a bad escape, the first byte of an
// invalid number or UTF-8 sequence, json.size() for a premature end), e.g.
// "data_json: expected ':' at byte 12". A document whose first non-whitespace
// byte is not '{' gives "<field>: top level must be a JSON object".
//
// Linear time, no allocation beyond one byte per open container; never reads
// outside `json`. Thread-safe.
absl::Status CheckJsonObject(absl::string_view json, absl::string_view field,
                             int max_depth = kDefaultJsonMaxDepth);

// Appends `utf8` to `out` as a JSON string literal: in double quotes, with '"'
// and '\' backslash-escaped, control characters < 0x20 written as \b \f \n \r
// \t or \u00XX (lowercase hex), and every other byte, including non-ASCII
// UTF-8, copied as is. `utf8` is assumed to be valid UTF-8; invalid bytes are
// copied unchanged and make the output invalid JSON.
void AppendJsonString(std::string& out, absl::string_view utf8);

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_COMMON_JSON_H_
