#include "client/webhookctl/format.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"

namespace wink::webhooks::ctl {
namespace {

void PrintLine(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
}

}  // namespace

std::vector<std::string> Table::Lines() const {
  std::vector<std::string> lines;
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i + 1 == row.size()) {
        absl::StrAppend(&line, row[i]);
      } else {
        absl::StrAppendFormat(&line, "%-*s  ", static_cast<int>(widths[i]), row[i]);
      }
    }
    lines.emplace_back(absl::StripTrailingAsciiWhitespace(line));
  }
  return lines;
}

void Table::Print() const {
  for (const std::string& line : Lines()) PrintLine(line);
}

std::vector<std::string> KeyValues::Lines() const {
  std::vector<std::string> lines;
  size_t width = 0;
  for (const auto& [key, value] : pairs_) width = std::max(width, key.size() + 1);
  for (const auto& [key, value] : pairs_) {
    lines.push_back(absl::StrFormat("%-*s  %s", static_cast<int>(width), key + ":", value));
  }
  return lines;
}

void KeyValues::Print() const {
  for (const std::string& line : Lines()) PrintLine(line);
}

void PrintJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = false;
  // Cannot fail for a message that was parsed from or built for the wire.
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  PrintLine(json);
}

std::string FormatTime(const google::protobuf::Timestamp& time) {
  if (time.seconds() == 0 && time.nanos() == 0) return "";
  const absl::Time at = absl::FromUnixSeconds(time.seconds()) + absl::Nanoseconds(time.nanos());
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", at, absl::UTCTimeZone());
}

std::string FormatLatency(const google::protobuf::Duration& duration) {
  const absl::Duration value =
      absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
  if (value > absl::ZeroDuration() && value < absl::Milliseconds(1)) return "<1 ms";
  if (value < absl::Milliseconds(999.5)) {
    return absl::StrFormat("%.0f ms", absl::ToDoubleMilliseconds(value));
  }
  // Rounded like printf rounds, so 99.96 s is "100 s", not "100.0 s".
  if (value < absl::Seconds(99.95)) return absl::StrFormat("%.1f s", absl::ToDoubleSeconds(value));
  return absl::StrFormat("%.0f s", absl::ToDoubleSeconds(value));
}

std::string StateName(v1::DeliveryState state) {
  return std::string(absl::StripPrefix(v1::DeliveryState_Name(state), "DELIVERY_STATE_"));
}

std::string WebhookStatus(const v1::Webhook& webhook) {
  const std::string failing_since = FormatTime(webhook.failing_since());
  std::string status;
  if (!webhook.has_enabled() || webhook.enabled()) {
    status = "enabled";
  } else if (webhook.disabled_reason() == v1::DISABLED_REASON_FAILING) {
    // The streak is the reason: one parenthesis says both.
    return failing_since.empty() ? "paused (failing)"
                                 : absl::StrCat("paused (failing since ", failing_since, ")");
  } else if (webhook.disabled_reason() == v1::DISABLED_REASON_ENDPOINT_GONE) {
    status = "paused (endpoint gone)";
  } else {
    status = "paused";
  }
  if (!failing_since.empty()) absl::StrAppend(&status, ", failing since ", failing_since);
  return status;
}

namespace {

// The most the service keeps of a response body (DeliveryAttempt.response_body).
constexpr size_t kServiceBodyLimit = 4096;

// Length of the UTF-8 sequence starting at `text[i]` if it is well-formed
// (no overlong forms, no surrogates, at most U+10FFFF), else 0.
size_t Utf8SequenceLength(absl::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = i + 2; k < i + length; ++k) {
    if (byte(k) < 0x80 || byte(k) > 0xBF) return 0;
  }
  return length;
}

// True if `text` is well-formed UTF-8.
bool IsUtf8(absl::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t length = Utf8SequenceLength(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

// `text` without an incomplete UTF-8 sequence at its very end (at most the 3
// bytes of a sequence of 4 whose rest was cut off).
absl::string_view WithoutCutCharacter(absl::string_view text) {
  for (size_t back = 1; back <= 3 && back <= text.size(); ++back) {
    const unsigned char byte = static_cast<unsigned char>(text[text.size() - back]);
    if (byte < 0x80) break;  // ASCII: nothing was cut
    if (byte >= 0xC0) {      // a lead byte: was its sequence complete?
      const size_t needed = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2;
      if (needed > back) text.remove_suffix(back);
      break;
    }
  }
  return text;
}

// Valid UTF-8 `text` on one line: C0 and C1 control characters and DEL
// escaped, everything else as is.
std::string EscapeControls(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    } else if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      // U+0080..U+009F: C1 controls, which terminals may act on.
      absl::StrAppendFormat(&out, "\\u%04x", static_cast<unsigned char>(text[++i]));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Any bytes (a header value) on one line: valid UTF-8 as EscapeControls,
// other bytes as \xNN.
std::string EscapeBytes(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    const size_t length = Utf8SequenceLength(text, i);
    if (length == 0) {
      absl::StrAppendFormat(&out, "\\x%02x", static_cast<unsigned char>(text[i]));
      ++i;
    } else {
      absl::StrAppend(&out, EscapeControls(text.substr(i, length)));
      i += length;
    }
  }
  return out;
}

// "retry-after" -> "Retry-After"; "www-authenticate" -> "WWW-Authenticate".
std::string HeaderDisplayName(absl::string_view name) {
  if (name == "www-authenticate") return "WWW-Authenticate";
  std::string out(name);
  bool word_start = true;
  for (char& c : out) {
    c = word_start ? absl::ascii_toupper(c) : absl::ascii_tolower(c);
    word_start = c == '-';
  }
  return out;
}

}  // namespace

std::string BodyExcerpt(absl::string_view body) {
  if (body.empty()) return "";
  absl::string_view text = body;
  if (body.size() == kServiceBodyLimit) text = WithoutCutCharacter(text);
  if (!IsUtf8(text)) return absl::StrCat(body.size(), " bytes, not UTF-8");
  text = absl::StripAsciiWhitespace(text);
  size_t end = 0;
  size_t characters = 0;
  while (end < text.size() && characters < kBodyExcerptChars) {
    end += Utf8SequenceLength(text, end);
    ++characters;
  }
  std::string excerpt = EscapeControls(text.substr(0, end));
  if (end < text.size()) {
    // The service keeps only the first 4 KiB: a body of that size may have
    // been longer.
    absl::StrAppend(&excerpt, "… (", body.size(),
                    body.size() >= kServiceBodyLimit ? " bytes or more)" : " bytes in all)");
  }
  return excerpt;
}

std::string AttemptResult(const v1::DeliveryAttempt& attempt) {
  if (attempt.http_status() == 0) {
    return attempt.error().empty() ? std::string("no response") : attempt.error();
  }
  const std::string status = absl::StrCat("HTTP ", attempt.http_status());
  if (attempt.succeeded()) return absl::StrCat(status, " ok");
  // The service's errors for a status start with it ("HTTP 401", "HTTP 410
  // Gone"): then the error alone says it once.
  if (attempt.error().empty()) return status;
  if (absl::StartsWith(attempt.error(), status)) return attempt.error();
  return absl::StrCat(status, ": ", attempt.error());
}

std::vector<std::string> AttemptLines(const v1::Delivery& delivery) {
  std::vector<std::vector<std::string>> details;
  Table heads({"", "", "", ""});
  for (const v1::DeliveryAttempt& attempt : delivery.attempts()) {
    heads.AddRow({absl::StrCat("#", attempt.attempt_number()), FormatTime(attempt.start_time()),
                  FormatLatency(attempt.latency()), AttemptResult(attempt)});
    std::vector<std::string>& lines = details.emplace_back();
    if (const std::string body = BodyExcerpt(attempt.response_body()); !body.empty()) {
      lines.push_back(absl::StrCat("body: ", body));
    }
    // Sorted, so the output does not depend on the map's order.
    const std::map<std::string, std::string> headers(attempt.response_headers().begin(),
                                                     attempt.response_headers().end());
    for (const auto& [name, value] : headers) {
      lines.push_back(absl::StrCat(HeaderDisplayName(name), ": ", EscapeBytes(value)));
    }
  }
  std::vector<std::string> head_lines = heads.Lines();
  std::vector<std::string> out;
  for (size_t i = 0; i < details.size(); ++i) {
    out.push_back(head_lines[i + 1]);  // [0] is the (empty) header row
    for (const std::string& line : details[i]) out.push_back(absl::StrCat("    ", line));
  }
  return out;
}

namespace {

// "10/s, burst 20", or "" without a limit.
std::string RateLimitText(const v1::Webhook& webhook) {
  if (!webhook.has_rate_limit()) return "";
  const v1::RateLimit& limit = webhook.rate_limit();
  const int burst = limit.burst() > 0 ? limit.burst() : limit.requests_per_second();
  return absl::StrCat(limit.requests_per_second(), "/s, burst ", burst);
}

// "hmac-sha256 (v1)" or "ed25519 (v1a)"; "" from a server that predates
// the choice.
std::string SignatureSchemeText(const v1::Webhook& webhook) {
  switch (webhook.signature_scheme()) {
    case v1::SIGNATURE_SCHEME_HMAC_SHA256:
      return "hmac-sha256 (v1)";
    case v1::SIGNATURE_SCHEME_ED25519:
      return "ed25519 (v1a)";
    default:
      return "";
  }
}

}  // namespace

void PrintWebhook(const v1::Webhook& webhook) {
  // Sorted, so the output does not depend on the map's order.
  const std::map<std::string, std::string> headers(webhook.headers().begin(),
                                                   webhook.headers().end());
  KeyValues()
      .Add("name", webhook.name())
      .Add("display_name", webhook.display_name())
      .Add("url", webhook.url())
      .Add("event_types",
           webhook.event_types().empty() ? "(all)" : absl::StrJoin(webhook.event_types(), ", "))
      // Says since when it fails, as the STATUS column of `webhooks list`.
      .Add("status", WebhookStatus(webhook))
      .Add("disable_time", FormatTime(webhook.disable_time()))
      .Add("description", webhook.description())
      .Add("headers", absl::StrJoin(headers, ", ", absl::PairFormatter("=")))
      .Add("rate_limit", RateLimitText(webhook))
      .Add("ordered_delivery",
           webhook.ordered_delivery() ? "yes (one at a time, in publish order)" : "")
      .Add("create_time", FormatTime(webhook.create_time()))
      .Add("update_time", FormatTime(webhook.update_time()))
      .Add("signature_scheme", SignatureSchemeText(webhook))
      .Add("public_key", webhook.public_key())
      .Add("previous_secret_expire_time", FormatTime(webhook.previous_secret_expire_time()))
      .Add("secret", webhook.secret())
      .Print();
}

void PrintRecovery(const v1::Recovery& recovery) {
  absl::string_view state = v1::RecoveryState_Name(recovery.state());
  absl::ConsumePrefix(&state, "RECOVERY_STATE_");
  KeyValues()
      .Add("name", recovery.name())
      .Add("state", std::string(state))
      .Add("error", recovery.error())
      .Add("range", absl::StrCat(FormatTime(recovery.start_time()), " .. ",
                                 recovery.has_end_time() ? FormatTime(recovery.end_time())
                                                         : "(newest)"))
      .Add("states", recovery.include_succeeded() ? "failed, succeeded" : "failed")
      .Add("found", absl::StrCat(recovery.found_count()))
      .Add("resent", absl::StrCat(recovery.resent_count()))
      .Add("skipped", absl::StrCat(recovery.skipped_count()))
      .Add("create_time", FormatTime(recovery.create_time()))
      .Add("end_run_time", FormatTime(recovery.end_run_time()))
      .Print();
}

void PrintEvent(const v1::Event& event, const KeyValues& extra) {
  KeyValues()
      .Add("name", event.name())
      .Add("event_type", event.event_type())
      .Add("create_time", FormatTime(event.create_time()))
      .Add("idempotency_key", event.idempotency_key())
      .Add("data", event.data_json())
      .Add("traceparent", event.traceparent())
      .Add("tracestate", event.tracestate())
      .Append(extra)
      .Print();
  if (event.deliveries().empty()) return;
  PrintLine("");
  Table table(DeliveryColumns());
  for (const v1::Delivery& delivery : event.deliveries()) table.AddRow(DeliveryRow(delivery));
  table.Print();
}

std::vector<std::string> DeliveryColumns() {
  return {"DELIVERY", "STATE", "ATTEMPTS", "NEXT ATTEMPT", "REASON"};
}

std::vector<std::string> DeliveryRow(const v1::Delivery& delivery) {
  return {delivery.name(), StateName(delivery.state()), absl::StrCat(delivery.attempt_count()),
          FormatTime(delivery.next_attempt_time()), delivery.state_reason()};
}

void PrintDelivery(const v1::Delivery& delivery) {
  KeyValues()
      .Add("name", delivery.name())
      .Add("webhook", delivery.webhook())
      .Add("event", delivery.event())
      .Add("event_type", delivery.event_type())
      .Add("state", StateName(delivery.state()))
      .Add("state_reason", delivery.state_reason())
      .Add("attempt_count", absl::StrCat(delivery.attempt_count()))
      .Add("next_attempt_time", FormatTime(delivery.next_attempt_time()))
      .Add("create_time", FormatTime(delivery.create_time()))
      .Add("update_time", FormatTime(delivery.update_time()))
      .Print();
  if (delivery.attempts().empty()) return;
  PrintLine("");
  for (const std::string& line : AttemptLines(delivery)) PrintLine(line);
}

std::string ApplicationStateName(v1::ApplicationState state) {
  return std::string(absl::StripPrefix(v1::ApplicationState_Name(state), "APPLICATION_STATE_"));
}

std::string ScopesText(const v1::Application& application, absl::string_view separator) {
  if (application.scopes().empty()) return "(all)";
  std::vector<std::string> names;
  for (const int scope : application.scopes()) {
    const std::string& name = v1::Scope_Name(static_cast<v1::Scope>(scope));
    // A scope of a newer server than this build: its number.
    names.push_back(name.empty() ? absl::StrCat(scope)
                                 : absl::AsciiStrToLower(absl::StripPrefix(name, "SCOPE_")));
  }
  return absl::StrJoin(names, separator);
}

void PrintApplication(const v1::Application& application, const std::string& api_key) {
  KeyValues()
      .Add("name", application.name())
      .Add("display_name", application.display_name())
      .Add("description", application.description())
      .Add("state", ApplicationStateName(application.state()))
      .Add("scopes", ScopesText(application))
      .Add("key_prefix", application.key_prefix())
      .Add("expire_time", FormatTime(application.expire_time()))
      .Add("previous_key_expire_time", FormatTime(application.previous_key_expire_time()))
      .Add("create_time", FormatTime(application.create_time()))
      .Add("update_time", FormatTime(application.update_time()))
      .Add("last_used_time", FormatTime(application.last_used_time()))
      .Add("revoke_time", FormatTime(application.revoke_time()))
      .Add("api_key", api_key)
      .Print();
}

void PrintWatchLine(const v1::WatchDeliveriesResponse& update) {
  const v1::Delivery& delivery = update.delivery();
  std::string line = absl::StrFormat(
      "%6d  %s  %-15s  %s  attempts=%d", update.cursor(), FormatTime(delivery.update_time()),
      StateName(delivery.state()), delivery.name(), delivery.attempt_count());
  if (!delivery.state_reason().empty()) absl::StrAppend(&line, "  ", delivery.state_reason());
  PrintLine(line);
  // Live output: a reader at the other end of a pipe sees each update at once.
  std::fflush(stdout);
}

}  // namespace wink::webhooks::ctl
