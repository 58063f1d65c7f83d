#include "service/api/webhook_validation.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/common/utf8.h"
#include "service/http/url.h"

namespace wink::webhooks::api {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

// Shows user input in an error message, escaped and shortened.
std::string Quote(absl::string_view value) {
  constexpr size_t kMaxShown = 64;
  std::string shown = absl::CHexEscape(value.substr(0, kMaxShown));
  if (value.size() > kMaxShown) shown += "...";
  return absl::StrCat("\"", shown, "\"");
}

bool IsControl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// True if valid UTF-8 `text` holds a C1 control character (U+0080..U+009F,
// encoded as C2 80..C2 9F).
bool HasC1Control(absl::string_view text) {
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) == 0xc2 &&
        static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      return true;
    }
  }
  return false;
}

// RFC 9110 token characters.
bool IsTokenChar(char c) {
  return absl::ascii_isalnum(c) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

}  // namespace

absl::Status ValidateDisplayName(absl::string_view display_name, absl::string_view field) {
  if (display_name.empty()) return Invalid(field, "required");
  if (!IsValidUtf8(display_name)) return Invalid(field, "must be valid UTF-8");
  if (std::any_of(display_name.begin(), display_name.end(), IsControl) ||
      HasC1Control(display_name)) {
    return Invalid(field, "must not contain control characters");
  }
  if (CountCodePoints(display_name) > kMaxDisplayNameChars) {
    return Invalid(field, absl::StrCat("longer than ", kMaxDisplayNameChars, " characters"));
  }
  return absl::OkStatus();
}

absl::Status ValidateDescription(absl::string_view description, absl::string_view field) {
  if (!IsValidUtf8(description)) return Invalid(field, "must be valid UTF-8");
  if (std::any_of(description.begin(), description.end(),
                  [](char c) { return IsControl(c) && c != '\n' && c != '\t'; })) {
    return Invalid(field, "must not contain control characters other than tab and newline");
  }
  if (CountCodePoints(description) > kMaxDescriptionChars) {
    return Invalid(field, absl::StrCat("longer than ", kMaxDescriptionChars, " characters"));
  }
  return absl::OkStatus();
}

absl::Status ValidateUrl(absl::string_view url, absl::string_view field) {
  return http::ParseWebhookUrl(url, field).status();
}

absl::StatusOr<std::vector<std::string>> NormalizeEventTypes(
    const google::protobuf::RepeatedPtrField<std::string>& event_types, const EventCatalog& catalog,
    absl::string_view field) {
  std::vector<std::string> out;
  for (int i = 0; i < event_types.size(); ++i) {
    const std::string& type = event_types.Get(i);
    if (!catalog.Contains(type)) {
      return Invalid(absl::StrCat(field, "[", i, "]"),
                     absl::StrCat("unknown event type ", Quote(type),
                                  "; known types: ", catalog.names_list()));
    }
    out.push_back(type);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool IsReservedHeaderName(absl::string_view name) {
  static const auto* const kReserved = new absl::flat_hash_set<std::string>{
      "host",
      "content-type",
      "content-length",
      "content-encoding",
      "transfer-encoding",
      "connection",
      "keep-alive",
      "proxy-connection",
      "proxy-authorization",
      "proxy-authenticate",
      "te",
      "trailer",
      "upgrade",
      "user-agent",
      "expect",
      "accept-encoding",
  };
  const std::string lower = absl::AsciiStrToLower(name);
  return kReserved->contains(lower) || absl::StartsWith(lower, "webhook-");
}

absl::Status ValidateHeaders(const google::protobuf::Map<std::string, std::string>& headers,
                             absl::string_view field) {
  if (headers.size() > kMaxHeaders) {
    return Invalid(field,
                   absl::StrCat("at most ", kMaxHeaders, " custom headers, got ", headers.size()));
  }
  // Map order is unspecified: check in name order so the reported error is
  // stable.
  std::vector<std::pair<std::string, std::string>> sorted(headers.begin(), headers.end());
  std::sort(sorted.begin(), sorted.end());
  absl::flat_hash_set<std::string> seen;
  for (const auto& [name, value] : sorted) {
    const std::string where = absl::StrCat(field, "[", Quote(name), "]");
    if (name.empty() || name.size() > kMaxHeaderNameLength ||
        !std::all_of(name.begin(), name.end(), IsTokenChar)) {
      return Invalid(where, absl::StrCat("header names are 1-", kMaxHeaderNameLength,
                                         " characters of letters, digits and !#$%&'*+-.^_`|~"));
    }
    if (IsReservedHeaderName(name)) {
      return Invalid(where, "is reserved: the service sets it (or it is hop-by-hop)");
    }
    if (!seen.insert(absl::AsciiStrToLower(name)).second) {
      return Invalid(where, "repeats another header's name (names are case-insensitive)");
    }
    if (value.size() > kMaxHeaderValueLength) {
      return Invalid(where,
                     absl::StrCat("value longer than ", kMaxHeaderValueLength, " characters"));
    }
    // The value is deliberately not echoed: it may be a credential.
    if (!std::all_of(value.begin(), value.end(),
                     [](char c) { return c == '\t' || (c >= ' ' && c <= '~'); })) {
      return Invalid(where, "value must be visible ASCII, space or tab (no CR, LF or NUL)");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRequestId(absl::string_view request_id, absl::string_view field) {
  if (request_id.size() > kMaxRequestIdLength ||
      !std::all_of(request_id.begin(), request_id.end(), [](char c) {
        return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-';
      })) {
    return Invalid(field, absl::StrCat("must be 1-", kMaxRequestIdLength,
                                       " characters of [A-Za-z0-9._:-], e.g. a UUID"));
  }
  return absl::OkStatus();
}

}  // namespace wink::webhooks::api
