// Output of webhookctl: aligned tables and key-value blocks for people,
// protobuf JSON (one object per line) for scripts, and the text forms of
// times, states and resources. Everything writes to stdout.
#ifndef WINK_WEBHOOKS_CLIENT_WEBHOOKCTL_FORMAT_H_
#define WINK_WEBHOOKS_CLIENT_WEBHOOKCTL_FORMAT_H_

#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/duration.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"
#include "wink/webhooks/v1/delivery_service.pb.h"
#include "wink/webhooks/v1/webhook_service.pb.h"

namespace wink::webhooks::ctl {

// Columns separated by two spaces, each as wide as its widest cell; the last
// column is not padded.
class Table {
 public:
  explicit Table(std::vector<std::string> headers) { rows_.push_back(std::move(headers)); }
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
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
// E.g. "125ms", "1.5s".
std::string FormatLatency(const google::protobuf::Duration& duration);
// "SUCCEEDED" for DELIVERY_STATE_SUCCEEDED.
std::string StateName(v1::DeliveryState state);
// "enabled", or "paused" with the reason when the service paused it.
std::string WebhookStatus(const v1::Webhook& webhook);

// Key-value blocks of single resources. PrintEvent adds `extra` after the
// event's own fields, then the table of its deliveries, if any.
void PrintWebhook(const v1::Webhook& webhook);
void PrintEvent(const v1::Event& event, const KeyValues& extra = KeyValues());
void PrintDelivery(const v1::Delivery& delivery);

// The delivery tables' columns and the row of one delivery.
std::vector<std::string> DeliveryColumns();
std::vector<std::string> DeliveryRow(const v1::Delivery& delivery);

// One line per watch update: cursor, time, state, delivery, attempts, reason.
void PrintWatchLine(const v1::WatchDeliveriesResponse& update);

}  // namespace wink::webhooks::ctl

#endif  // WINK_WEBHOOKS_CLIENT_WEBHOOKCTL_FORMAT_H_
