#include "client/webhookctl/format.h"

#include <algorithm>
#include <cstdio>
#include <map>

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

void Table::Print() const {
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
    PrintLine(std::string(absl::StripTrailingAsciiWhitespace(line)));
  }
}

void KeyValues::Print() const {
  size_t width = 0;
  for (const auto& [key, value] : pairs_) width = std::max(width, key.size() + 1);
  for (const auto& [key, value] : pairs_) {
    PrintLine(absl::StrFormat("%-*s  %s", static_cast<int>(width), key + ":", value));
  }
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
  return absl::FormatDuration(absl::Trunc(value, absl::Milliseconds(1)));
}

std::string StateName(v1::DeliveryState state) {
  return std::string(absl::StripPrefix(v1::DeliveryState_Name(state), "DELIVERY_STATE_"));
}

std::string WebhookStatus(const v1::Webhook& webhook) {
  if (!webhook.has_enabled() || webhook.enabled()) return "enabled";
  switch (webhook.disabled_reason()) {
    case v1::DISABLED_REASON_ENDPOINT_GONE:
      return "paused (endpoint gone)";
    case v1::DISABLED_REASON_FAILING:
      return "paused (failing)";
    default:
      return "paused";
  }
}

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
      .Add("status", WebhookStatus(webhook))
      .Add("disable_time", FormatTime(webhook.disable_time()))
      .Add("failing_since", FormatTime(webhook.failing_since()))
      .Add("description", webhook.description())
      .Add("headers", absl::StrJoin(headers, ", ", absl::PairFormatter("=")))
      .Add("create_time", FormatTime(webhook.create_time()))
      .Add("update_time", FormatTime(webhook.update_time()))
      .Add("previous_secret_expire_time", FormatTime(webhook.previous_secret_expire_time()))
      .Add("secret", webhook.secret())
      .Print();
}

void PrintEvent(const v1::Event& event, const KeyValues& extra) {
  KeyValues()
      .Add("name", event.name())
      .Add("event_type", event.event_type())
      .Add("create_time", FormatTime(event.create_time()))
      .Add("idempotency_key", event.idempotency_key())
      .Add("data", event.data_json())
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
  Table table({"#", "STARTED", "LATENCY", "HTTP", "RESULT"});
  for (const v1::DeliveryAttempt& attempt : delivery.attempts()) {
    table.AddRow({absl::StrCat(attempt.attempt_number()), FormatTime(attempt.start_time()),
                  FormatLatency(attempt.latency()),
                  attempt.http_status() == 0 ? "-" : absl::StrCat(attempt.http_status()),
                  attempt.succeeded() ? "ok" : attempt.error()});
  }
  table.Print();
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
