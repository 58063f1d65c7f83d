// Output of webhookctl: aligned tables and key-value blocks for people,
// protobuf JSON (one object per line) for scripts, and the text forms of
// times, states and resources. Everything writes to stdout.
#ifndef WINK_WEBHOOKS_CLIENT_WEBHOOKCTL_FORMAT_H_
#define WINK_WEBHOOKS_CLIENT_WEBHOOKCTL_FORMAT_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "wink/webhooks/v1/application_service.pb.h"
#include "wink/webhooks/v1/delivery_service.pb.h"
#include "wink/webhooks/v1/webhook_service.pb.h"

namespace wink::webhooks::ctl {

// Columns separated by two spaces, each as wide as its widest cell; the last
// column is not padded.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) { rows_.push_back(std::move(headers)); }
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  // The lines, header first, without newlines.
  std::vector<std::string> Lines() const;
  void Print() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "key:  value" lines with the values aligned; empty values are left out.
class KeyValues {
 public:
  KeyValues& Add(std::string key, std::string value) {
    if (!value.empty()) pairs_.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  KeyValues& Append(const KeyValues& more) {
    pairs_.insert(pairs_.end(), more.pairs_.begin(), more.pairs_.end());
    return *this;
  }
  // The lines, without newlines.
  std::vector<std::string> Lines() const;
  void Print() const;

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

// `message` as one line of protobuf JSON (proto3 JSON mapping: lowerCamelCase
// names, int64 as strings, bytes as base64).
void PrintJson(const google::protobuf::Message& message);

// RFC 3339 in UTC with milliseconds, e.g. "2024-05-01T12:00:00.250Z"; "" if
// unset.
std::string FormatTime(const google::protobuf::Timestamp& time);
// A duration with its unit, for people: "<1 ms" and "231 ms" below a
// second, "1.2 s" and "15.0 s" below 100 s, then "125 s".
std::string FormatLatency(const google::protobuf::Duration& duration);
// "SUCCEEDED" for DELIVERY_STATE_SUCCEEDED.
std::string StateName(v1::DeliveryState state);
// "enabled", or "paused" with the reason when the service paused it, then
// ", failing since <time>" while every attempt since that time failed
// (Webhook.failing_since), e.g. "enabled, failing since
// 2024-05-01T12:00:00.250Z"; "paused (failing since <time>)" when the
// service paused it for that streak. The STATUS column of `webhooks list`
// and the status line of `webhooks get` are both this.
std::string WebhookStatus(const v1::Webhook& webhook);

// The longest response body excerpt shown, in characters (code points).
inline constexpr size_t kBodyExcerptChars = 200;

// A response body as one line of text for a terminal: "" for an empty body;
// for valid UTF-8, the text with surrounding whitespace trimmed, control
// characters escaped ("\n", "\r", "\t", "\x1b", "\u0085") and, past
// kBodyExcerptChars, cut with "… (N bytes in all)" ("… (4096 bytes or
// more)" for a body the service cut at the 4 KiB it keeps); otherwise "N
// bytes, not UTF-8". A body of exactly 4 KiB may end inside a character the
// service cut: that tail is dropped, not held against it.
std::string BodyExcerpt(absl::string_view body);

// What an attempt came to, with the HTTP status said once: "HTTP 200 ok",
// "HTTP 401", "HTTP 302 (redirects are not followed)" (the error when it
// adds to the status), "timed out after 15s" (no response: the error).
std::string AttemptResult(const v1::DeliveryAttempt& attempt);

// The attempts of a delivery, oldest first, for people: per attempt one line
// "#N  START  LATENCY  RESULT" (columns aligned across attempts), then
// indented lines for what the receiver answered, when there is any: the
// body excerpt ("body: ...") and the response headers the service kept
// ("Retry-After: 120", ...; names in their usual case, sorted). Empty when
// there are no attempts.
std::vector<std::string> AttemptLines(const v1::Delivery& delivery);

// "ACTIVE" for APPLICATION_STATE_ACTIVE.
std::string ApplicationStateName(v1::ApplicationState state);
// The scopes as the --scope flag takes them, joined by `separator`:
// "read, publish"; "(all)" for an empty list (every scope, as the service
// reads it).
std::string ScopesText(const v1::Application& application, absl::string_view separator = ", ");

// Key-value blocks of single resources. PrintEvent adds `extra` after the
// event's own fields, then the table of its deliveries, if any.
// PrintDelivery adds AttemptLines() after a blank line.
void PrintWebhook(const v1::Webhook& webhook);
void PrintEvent(const v1::Event& event, const KeyValues& extra = KeyValues());
void PrintDelivery(const v1::Delivery& delivery);
void PrintRecovery(const v1::Recovery& recovery);
// An application (never a key: the service does not return it here). With a
// non-empty `api_key` (CreateApplication, RotateApplicationKey), a last line
// "api_key:  wak_..." in the same block, so that a script can take it with
// the other fields.
void PrintApplication(const v1::Application& application, const std::string& api_key = "");

// The delivery tables' columns and the row of one delivery.
std::vector<std::string> DeliveryColumns();
std::vector<std::string> DeliveryRow(const v1::Delivery& delivery);

// One line per watch update: cursor, time, state, delivery, attempts, reason.
void PrintWatchLine(const v1::WatchDeliveriesResponse& update);

}  // namespace wink::webhooks::ctl

#endif  // WINK_WEBHOOKS_CLIENT_WEBHOOKCTL_FORMAT_H_
