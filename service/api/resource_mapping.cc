#include "service/api/resource_mapping.h"

#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "service/common/resource_names.h"

namespace wink::webhooks::api {

google::protobuf::Timestamp ToTimestamp(int64_t unix_micros) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(unix_micros);
}

void EventToApi(const internal::v1::EventRecord& record, v1::Event* out) {
  out->set_name(EventResourceName(record.account(), record.id()));
  out->set_id(record.id());
  out->set_event_type(record.type());
  out->set_data_json(record.data_json());
  *out->mutable_create_time() = ToTimestamp(record.create_time_us());
  out->set_idempotency_key(record.idempotency_key());
  out->set_traceparent(record.traceparent());
  out->set_tracestate(record.tracestate());
}

void DeliveryToApi(const internal::v1::DeliveryRecord& record, v1::Delivery* out) {
  out->set_name(DeliveryResourceName(record.account(), record.webhook_id(), record.event_id()));
  out->set_webhook(WebhookResourceName(record.account(), record.webhook_id()));
  out->set_event(EventResourceName(record.account(), record.event_id()));
  out->set_event_type(record.event_type());
  // The stored enum uses the API's numbers.
  out->set_state(static_cast<v1::DeliveryState>(record.state()));
  out->set_state_reason(record.state_reason());
  out->set_attempt_count(record.attempt_count());
  if (record.next_attempt_time_us() != 0) {
    *out->mutable_next_attempt_time() = ToTimestamp(record.next_attempt_time_us());
  }
  *out->mutable_create_time() = ToTimestamp(record.create_time_us());
  *out->mutable_update_time() = ToTimestamp(record.update_time_us());
  if (record.has_last_attempt()) AttemptToApi(record.last_attempt(), out->mutable_last_attempt());
}

void AttemptToApi(const internal::v1::AttemptRecord& record, v1::DeliveryAttempt* out) {
  out->set_attempt_number(record.attempt_number());
  *out->mutable_start_time() = ToTimestamp(record.start_time_us());
  *out->mutable_latency() =
      google::protobuf::util::TimeUtil::MicrosecondsToDuration(record.latency_us());
  out->set_http_status(record.http_status());
  out->set_error(record.error());
  out->set_response_body(record.response_body());
  *out->mutable_response_headers() = record.response_headers();
  out->set_succeeded(record.succeeded());
}

}  // namespace wink::webhooks::api
