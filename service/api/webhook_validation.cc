#include "service/api/webhook_validation.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "service/common/errors.h"
#include "service/common/ip_range.h"
#include "service/common/status_macros.h"
#include "service/common/utf8.h"
#include "service/http/url.h"

namespace wink::webhooks::api {
namespace {

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
  if (display_name.empty()) return InvalidField(field, "required");
  if (!IsValidUtf8(display_name)) return InvalidField(field, "must be valid UTF-8");
  if (std::any_of(display_name.begin(), display_name.end(), IsControl) ||
      HasC1Control(display_name)) {
    return InvalidField(field, "must not contain control characters");
  }
  if (CountCodePoints(display_name) > kMaxDisplayNameChars) {
    return InvalidField(field, absl::StrCat("longer than ", kMaxDisplayNameChars, " characters"));
  }
  return absl::OkStatus();
}

absl::Status ValidateDescription(absl::string_view description, absl::string_view field) {
  if (!IsValidUtf8(description)) return InvalidField(field, "must be valid UTF-8");
  if (std::any_of(description.begin(), description.end(),
                  [](char c) { return IsControl(c) && c != '\n' && c != '\t'; }) ||
      HasC1Control(description)) {
    return InvalidField(field, "must not contain control characters other than tab and newline");
  }
  if (CountCodePoints(description) > kMaxDescriptionChars) {
    return InvalidField(field, absl::StrCat("longer than ", kMaxDescriptionChars, " characters"));
  }
  return absl::OkStatus();
}

absl::Status ValidateUrl(absl::string_view url, const http::AddressPolicy& destinations,
                         absl::string_view field) {
  WINK_ASSIGN_OR_RETURN(const http::HttpsUrl parsed, http::ParseWebhookUrl(url, field));
  const absl::StatusOr<IpAddress> literal = IpAddress::Parse(parsed.host);
  if (!literal.ok()) return absl::OkStatus();  // a host name
  const std::optional<absl::string_view> refusal = destinations.Refusal(*literal);
  if (!refusal.has_value()) return absl::OkStatus();
  // The caller wrote this address: naming it tells them nothing new.
  return InvalidField(field, absl::StrCat("destination ", literal->ToString(), " is ", *refusal,
                                          ", which deliveries are never sent to (SSRF guard); "
                                          "use a public address (the server's "
                                          "allow_private_targets opens ranges for development)"));
}

absl::StatusOr<std::vector<std::string>> NormalizeEventTypes(
    const google::protobuf::RepeatedPtrField<std::string>& event_types, const EventCatalog& catalog,
    absl::string_view field) {
  if (event_types.size() > static_cast<int>(kMaxEventTypes)) {
    return InvalidField(field, absl::StrCat("at most ", kMaxEventTypes, " entries, got ",
                                            event_types.size(), " (empty means all types)"));
  }
  std::vector<std::string> out;
  for (int i = 0; i < event_types.size(); ++i) {
    const std::string& type = event_types.Get(i);
    if (!catalog.Contains(type)) {
      return InvalidField(absl::StrCat(field, "[", i, "]"),
                          absl::StrCat("unknown event type ", QuoteForError(type),
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
      // W3C trace context: each event's own (Event.traceparent).
      "traceparent",
      "tracestate",
  };
  // Receivers behind CGI-style gateways see "Webhook_Id" and "webhook-id" as
  // the same variable, so underscores count as hyphens.
  std::string lower = absl::AsciiStrToLower(name);
  std::replace(lower.begin(), lower.end(), '_', '-');
  return kReserved->contains(lower) || absl::StartsWith(lower, "webhook-");
}

absl::Status ValidateHeaders(const google::protobuf::Map<std::string, std::string>& headers,
                             absl::string_view field) {
  if (headers.size() > kMaxHeaders) {
    return InvalidField(
        field, absl::StrCat("at most ", kMaxHeaders, " custom headers, got ", headers.size()));
  }
  // Map order is unspecified: check in name order so the reported error is
  // stable.
  std::vector<std::pair<std::string, std::string>> sorted(headers.begin(), headers.end());
  std::sort(sorted.begin(), sorted.end());
  absl::flat_hash_set<std::string> seen;
  for (const auto& [name, value] : sorted) {
    const std::string where = absl::StrCat(field, "[", QuoteForError(name), "]");
    if (name.empty() || name.size() > kMaxHeaderNameLength ||
        !std::all_of(name.begin(), name.end(), IsTokenChar)) {
      return InvalidField(where,
                          absl::StrCat("header names are 1-", kMaxHeaderNameLength,
                                       " characters of letters, digits and !#$%&'*+-.^_`|~"));
    }
    if (IsReservedHeaderName(name)) {
      return InvalidField(where, "is reserved: the service sets it (or it is hop-by-hop)");
    }
    if (!seen.insert(absl::AsciiStrToLower(name)).second) {
      return InvalidField(where, "repeats another header's name (names are case-insensitive)");
    }
    if (value.empty()) {
      // libcurl would silently drop a header with an empty value.
      return InvalidField(where, "value must not be empty");
    }
    if (value.size() > kMaxHeaderValueLength) {
      return InvalidField(where,
                          absl::StrCat("value longer than ", kMaxHeaderValueLength, " characters"));
    }
    // The value is deliberately not echoed: it may be a credential.
    if (!std::all_of(value.begin(), value.end(),
                     [](char c) { return c == '\t' || (c >= ' ' && c <= '~'); })) {
      return InvalidField(where, "value must be visible ASCII, space or tab (no CR, LF or NUL)");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateRequestId(absl::string_view request_id, absl::string_view field) {
  if (request_id.size() > kMaxRequestIdLength ||
      !std::all_of(request_id.begin(), request_id.end(), [](char c) {
        return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-';
      })) {
    return InvalidField(field, absl::StrCat("must be 1-", kMaxRequestIdLength,
                                            " characters of [A-Za-z0-9._:-], e.g. a UUID"));
  }
  return absl::OkStatus();
}

absl::Status ValidateRateLimit(const v1::RateLimit& rate_limit, absl::string_view field) {
  if (rate_limit.requests_per_second() < 1 || rate_limit.requests_per_second() > kMaxRateLimit) {
    return InvalidField(absl::StrCat(field, ".requests_per_second"),
                        absl::StrCat("must be 1 to ", kMaxRateLimit, ", got ",
                                     rate_limit.requests_per_second()));
  }
  if (rate_limit.burst() < 0 || rate_limit.burst() > kMaxRateLimit) {
    return InvalidField(absl::StrCat(field, ".burst"),
                        absl::StrCat("must be 0 (same as requests_per_second) to ", kMaxRateLimit,
                                     ", got ", rate_limit.burst()));
  }
  return absl::OkStatus();
}

}  // namespace wink::webhooks::api
