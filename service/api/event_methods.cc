// WebhookService's event methods: PublishEvent, BatchPublishEvents,
// GetEvent, ListEvents, SendTestEvent.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "grpcpp/alarm.h"
#include "service/api/page_token.h"
#include "service/api/resource_mapping.h"
#include "service/api/struct_json.h"
#include "service/api/unary_call.h"
#include "service/api/webhook_service.h"
#include "service/api/webhook_validation.h"
#include "service/common/errors.h"
#include "service/common/ids.h"
#include "service/common/json.h"
#include "service/common/resource_names.h"
#include "service/common/sha256.h"
#include "service/common/status_macros.h"
#include "service/domain/states.h"
#include "service/metrics/service_metrics.h"

namespace wink::webhooks::api {
namespace {

// Soft cap on the encoded size of one ListEvents page (payloads are up to
// 256 KiB each).
constexpr size_t kMaxEventPageBytes = 1 << 20;

// Deliveries GetEvent returns (an event goes to at most one delivery per
// webhook of the account).
constexpr int kMaxDeliveriesPerEvent = 1000;

// A retry with the same idempotency key must publish the same event.
std::string PublishFingerprint(absl::string_view event_type, absl::string_view data_json) {
  return Sha256Bytes(absl::StrCat(event_type, "\n", data_json));
}

// The payload as JSON bytes, checked: a JSON object of at most
// kMaxEventDataBytes.
absl::StatusOr<std::string> PayloadJson(const v1::PublishEventRequest& request,
                                        absl::string_view field_prefix) {
  const std::string data_field = absl::StrCat(field_prefix, "data");
  const std::string data_json_field = absl::StrCat(field_prefix, "data_json");
  std::string json;
  switch (request.payload_case()) {
    case v1::PublishEventRequest::kData: {
      WINK_ASSIGN_OR_RETURN(json, StructToCanonicalJson(request.data(), data_field));
      if (json.size() > kMaxEventDataBytes) {
        return InvalidField(data_field, absl::StrCat("is ", json.size(), " bytes as JSON; at most ",
                                                     kMaxEventDataBytes, " are allowed"));
      }
      return json;
    }
    case v1::PublishEventRequest::kDataJson:
      if (request.data_json().size() > kMaxEventDataBytes) {
        return InvalidField(data_json_field,
                            absl::StrCat("is ", request.data_json().size(), " bytes; at most ",
                                         kMaxEventDataBytes, " are allowed"));
      }
      WINK_RETURN_IF_ERROR(CheckJsonObject(request.data_json(), data_json_field));
      return request.data_json();
    case v1::PublishEventRequest::PAYLOAD_NOT_SET:
      break;
  }
  return InvalidField(data_field,
                      "required: set `data` (a JSON object) or `data_json` (its bytes)");
}

// The response of one publish; also counts the event in the metrics.
void PublishResultToApi(const storage::PublishResult& result, v1::PublishEventResponse& response) {
  EventToApi(result.event, response.mutable_event());
  for (const auto& delivery : result.deliveries) {
    DeliveryToApi(delivery, response.mutable_event()->add_deliveries());
  }
  response.set_watch_cursor(static_cast<int64_t>(result.event.watch_cursor()));
  response.set_replayed(result.replayed);
  response.set_matched_webhook_count(static_cast<int32_t>(result.deliveries.size()));
  metrics::Global().RecordPublished(result.replayed ? metrics::PublishOutcome::kReplayed
                                                    : metrics::PublishOutcome::kAccepted);
}

// The type of SendTestEvent's events. Not in the catalogue: PublishEvent
// refuses it, so no webhook subscribes to it and only SendTestEvent sends it.
constexpr char kTestEventType[] = "webhook.test";

// How often SendTestEvent's wait looks at the delivery, and for how long at
// most: the first attempt ends within the engine's request timeout unless
// the receiver's queue is long.
constexpr absl::Duration kAttemptPollInterval = absl::Milliseconds(20);
constexpr absl::Duration kMaxAttemptWait = absl::Seconds(30);
constexpr int kMaxAttemptWaits = 100;
// Left of the caller's deadline for the answer to reach it.
constexpr absl::Duration kAttemptWaitMargin = absl::Seconds(1);

// One of the kMaxAttemptWaits SendTestEvent waits a server runs at once
// (each reads storage 50 times a second), given back when the last copy is
// destroyed.
class AttemptWaitSlot {
 public:
  // Null when every slot is taken.
  static std::shared_ptr<AttemptWaitSlot> Take(std::atomic<int>& taken) {
    if (taken.fetch_add(1) >= kMaxAttemptWaits) {
      taken.fetch_sub(1);
      return nullptr;
    }
    return std::shared_ptr<AttemptWaitSlot>(new AttemptWaitSlot(taken));
  }
  ~AttemptWaitSlot() { taken_.fetch_sub(1); }
  AttemptWaitSlot(const AttemptWaitSlot&) = delete;
  AttemptWaitSlot& operator=(const AttemptWaitSlot&) = delete;

 private:
  explicit AttemptWaitSlot(std::atomic<int>& taken) : taken_(taken) {}
  std::atomic<int>& taken_;
};

// Waits for a delivery's first attempt by reading it from the ledger every
// kAttemptPollInterval on a gRPC alarm (no thread blocks). It reads storage
// rather than listening to the status bus so it sees the attempt whichever
// node makes it (cluster mode) at a cost that does not matter for a call
// people make by hand. Deletes itself after calling `done` exactly once:
// when the delivery has an attempt or is final, at `until`, or as soon as
// the call is cancelled (which also lets a server shutdown end it).
class FirstAttemptWait {
 public:
  using Done = std::function<void(absl::StatusOr<v1::Delivery> delivery, bool attempt_finished)>;

  static void Start(storage::DeliveryLedger& ledger, grpc::CallbackServerContext* context,
                    storage::DeliveryRecord created, absl::Time until, Done done) {
    auto* wait = new FirstAttemptWait(ledger, context, std::move(created), until, std::move(done));
    wait->ScheduleNextLook();
  }

 private:
  FirstAttemptWait(storage::DeliveryLedger& ledger, grpc::CallbackServerContext* context,
                   storage::DeliveryRecord created, absl::Time until, Done done)
      : ledger_(ledger),
        context_(context),
        created_(std::move(created)),
        until_(until),
        done_(std::move(done)) {}

  void ScheduleNextLook() {
    // The alarm of the previous look is destroyed here, inside its own
    // callback; gRPC keeps it alive until the callback returns. Nothing
    // touches `this` after Set: the next look may already be running.
    alarm_ = std::make_unique<grpc::Alarm>();
    alarm_->Set(absl::ToChronoTime(absl::Now() + kAttemptPollInterval),
                [this](bool) { Look(); });
  }

  void Look() {
    absl::StatusOr<storage::DeliveryRecord> now =
        ledger_.GetDelivery(created_.account(), created_.webhook_id(), created_.event_id());
    const bool finished =
        now.ok() && (now->attempt_count() > 0 || domain::IsFinal(now->state()));
    if (now.ok() && !finished && absl::Now() < until_ && !context_->IsCancelled()) {
      ScheduleNextLook();
      return;
    }
    done_(WithAttempts(std::move(now)), finished);
    delete this;
  }

  absl::StatusOr<v1::Delivery> WithAttempts(absl::StatusOr<storage::DeliveryRecord> record) {
    if (!record.ok()) return record.status();
    v1::Delivery delivery;
    DeliveryToApi(*record, &delivery);
    WINK_ASSIGN_OR_RETURN(const std::vector<storage::AttemptRecord> attempts,
                          ledger_.ListAttempts(record->webhook_id(), record->event_id()));
    for (const auto& attempt : attempts) AttemptToApi(attempt, delivery.add_attempts());
    return delivery;
  }

  storage::DeliveryLedger& ledger_;
  grpc::CallbackServerContext* const context_;
  const storage::DeliveryRecord created_;
  const absl::Time until_;
  const Done done_;
  std::unique_ptr<grpc::Alarm> alarm_;
};

// Keeps the call's trace context with the event, for its deliveries.
void AttachTraceContext(const std::optional<TraceContext>& trace,
                        storage::PublishRequest& publish) {
  if (!trace.has_value()) return;
  publish.traceparent = trace->traceparent;
  publish.tracestate = trace->tracestate;
}

}  // namespace

storage::StoredQuota WebhookServiceImpl::CurrentStoredQuota() const {
  absl::MutexLock lock(&limits_mu_);
  return stored_quota_;
}

absl::StatusOr<storage::PublishRequest> WebhookServiceImpl::CheckPublish(
    const v1::PublishEventRequest& request, const std::string& account,
    absl::string_view field_prefix) const {
  const std::string event_type_field = absl::StrCat(field_prefix, "event_type");
  if (request.event_type().empty()) return InvalidField(event_type_field, "required");
  if (!catalog_.Contains(request.event_type())) {
    return InvalidField(event_type_field,
                        absl::StrCat("unknown event type ", QuoteForError(request.event_type()),
                                     "; known: ", catalog_.names_list()));
  }
  WINK_ASSIGN_OR_RETURN(std::string data_json, PayloadJson(request, field_prefix));
  if (!request.idempotency_key().empty()) {
    WINK_RETURN_IF_ERROR(ValidateRequestId(request.idempotency_key(),
                                           absl::StrCat(field_prefix, "idempotency_key")));
  }
  storage::PublishRequest publish;
  publish.account = account;
  publish.event_type = request.event_type();
  publish.request_fingerprint = PublishFingerprint(request.event_type(), data_json);
  publish.data_json = std::move(data_json);
  publish.idempotency_key = request.idempotency_key();
  publish.idempotency_retention = options_.idempotency_key_retention;
  publish.quota = CurrentStoredQuota();
  return publish;
}

grpc::ServerUnaryReactor* WebhookServiceImpl::PublishEvent(grpc::CallbackServerContext* context,
                                                           const grpc::ByteBuffer* request_bytes,
                                                           grpc::ByteBuffer* response_bytes) {
  return ServeUnaryAsync<v1::PublishEventRequest, v1::PublishEventResponse>(
      context, "PublishEvent", authenticator_, request_bytes, response_bytes,
      [this](UnaryCall& call, const v1::PublishEventRequest& request,
             v1::PublishEventResponse& response, FinishFn finish) -> absl::Status {
        WINK_ASSIGN_OR_RETURN(const std::string account,
                              ParseAccountName(request.parent(), "parent"));
        WINK_RETURN_IF_ERROR(call.Authorize(account));
        WINK_ASSIGN_OR_RETURN(storage::PublishRequest publish,
                              CheckPublish(request, account, /*field_prefix=*/""));
        AttachTraceContext(call.trace_context(), publish);
        // After validation: a refused request takes no token.
        WINK_RETURN_IF_ERROR(publish_limiter_.Admit(account, 1));
        events_.Publish(std::move(publish),
                        [&response, finish](absl::StatusOr<storage::PublishResult> result) {
                          if (!result.ok()) return finish(result.status());
                          PublishResultToApi(*result, response);
                          finish(absl::OkStatus());
                        });
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* WebhookServiceImpl::BatchPublishEvents(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response_bytes) {
  return ServeUnaryAsync<v1::BatchPublishEventsRequest, v1::BatchPublishEventsResponse>(
      context, "BatchPublishEvents", authenticator_, request_bytes, response_bytes,
      [this](UnaryCall& call, const v1::BatchPublishEventsRequest& request,
             v1::BatchPublishEventsResponse& response, FinishFn finish) -> absl::Status {
        WINK_ASSIGN_OR_RETURN(const std::string account,
                              ParseAccountName(request.parent(), "parent"));
        WINK_RETURN_IF_ERROR(call.Authorize(account));
        if (request.requests_size() == 0) {
          return InvalidField("requests", "required: at least one event");
        }
        if (request.requests_size() > kMaxBatchPublishEvents) {
          return InvalidField("requests",
                              absl::StrCat("has ", request.requests_size(), " events; at most ",
                                           kMaxBatchPublishEvents, " are allowed"));
        }
        std::vector<storage::PublishRequest> batch;
        batch.reserve(request.requests_size());
        absl::flat_hash_map<absl::string_view, int> index_of_key;
        for (int i = 0; i < request.requests_size(); ++i) {
          const v1::PublishEventRequest& one = request.requests(i);
          const std::string prefix = absl::StrCat("requests[", i, "].");
          if (!one.parent().empty() && one.parent() != request.parent()) {
            return InvalidField(absl::StrCat(prefix, "parent"),
                                "must be empty or equal to the batch's parent");
          }
          WINK_ASSIGN_OR_RETURN(storage::PublishRequest publish,
                                CheckPublish(one, account, prefix));
          AttachTraceContext(call.trace_context(), publish);
          if (!one.idempotency_key().empty()) {
            auto [earlier, inserted] = index_of_key.emplace(one.idempotency_key(), i);
            if (!inserted) {
              return InvalidField(absl::StrCat(prefix, "idempotency_key"),
                                  absl::StrCat("repeats requests[", earlier->second,
                                               "].idempotency_key; each event needs its own"));
            }
          }
          batch.push_back(std::move(publish));
        }
        WINK_RETURN_IF_ERROR(publish_limiter_.Admit(account, static_cast<int>(batch.size())));
        events_.PublishBatch(
            std::move(batch), /*index_errors=*/true,
            [&response, finish](absl::StatusOr<std::vector<storage::PublishResult>> results) {
              if (!results.ok()) return finish(results.status());
              for (const storage::PublishResult& result : *results) {
                PublishResultToApi(result, *response.add_responses());
              }
              finish(absl::OkStatus());
            });
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* WebhookServiceImpl::GetEvent(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer* request_bytes,
                                                       grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::GetEventRequest, v1::Event>(
      context, "GetEvent", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::GetEventRequest& request, v1::Event& response) {
        WINK_ASSIGN_OR_RETURN(const EventName name, ParseEventName(request.name(), "name"));
        WINK_RETURN_IF_ERROR(call.Authorize(name.account));
        WINK_ASSIGN_OR_RETURN(const storage::EventRecord event,
                              events_.GetEvent(name.account, name.event_id));
        EventToApi(event, &response);
        WINK_ASSIGN_OR_RETURN(const storage::DeliveryPage deliveries,
                              deliveries_.ListDeliveriesOfEvent(name.account, name.event_id, "",
                                                            /*state=*/0, kMaxDeliveriesPerEvent));
        for (const auto& delivery : deliveries.deliveries) {
          DeliveryToApi(delivery, response.add_deliveries());
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* WebhookServiceImpl::ListEvents(grpc::CallbackServerContext* context,
                                                         const grpc::ByteBuffer* request_bytes,
                                                         grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::ListEventsRequest, v1::ListEventsResponse>(
      context, "ListEvents", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::ListEventsRequest& request, v1::ListEventsResponse& response) {
        WINK_ASSIGN_OR_RETURN(const std::string account,
                              ParseAccountName(request.parent(), "parent"));
        WINK_RETURN_IF_ERROR(call.Authorize(account));
        WINK_ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(request.page_size()));
        // A token is only valid for the same parent and filter.
        const std::string token_scope =
            absl::StrCat(request.parent(), "?event_type=", request.event_type());
        WINK_ASSIGN_OR_RETURN(const std::string before_id,
                              DecodePageToken(request.page_token(), token_scope));
        if (!before_id.empty() && !IsValidId(before_id, kEventIdPrefix)) {
          return absl::InvalidArgumentError("page_token: not a token returned by this method");
        }
        WINK_ASSIGN_OR_RETURN(
            const storage::EventPage page,
            events_.ListEvents(account, before_id, request.event_type(), page_size));
        size_t page_bytes = 0;
        std::string continue_from = page.continue_from;
        for (const storage::EventRecord& record : page.events) {
          v1::Event event;
          EventToApi(record, &event);
          page_bytes += event.ByteSizeLong();
          if (page_bytes > kMaxEventPageBytes && response.events_size() > 0) {
            continue_from = response.events(response.events_size() - 1).id();
            break;
          }
          *response.add_events() = std::move(event);
        }
        if (!continue_from.empty()) {
          response.set_next_page_token(EncodePageToken(token_scope, continue_from));
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* WebhookServiceImpl::SendTestEvent(grpc::CallbackServerContext* context,
                                                            const grpc::ByteBuffer* request_bytes,
                                                            grpc::ByteBuffer* response_bytes) {
  return ServeUnaryAsync<v1::SendTestEventRequest, v1::SendTestEventResponse>(
      context, "SendTestEvent", authenticator_, request_bytes, response_bytes,
      [this, context](UnaryCall& call, const v1::SendTestEventRequest& request,
                      v1::SendTestEventResponse& response, FinishFn finish) -> absl::Status {
        WINK_ASSIGN_OR_RETURN(const WebhookName name, ParseWebhookName(request.name(), "name"));
        WINK_RETURN_IF_ERROR(call.Authorize(name.account));
        v1::PublishEventRequest payload;
        if (request.has_data()) *payload.mutable_data() = request.data();
        if (request.payload_case() == v1::SendTestEventRequest::kDataJson) {
          payload.set_data_json(request.data_json());
        }
        std::string data_json;
        if (payload.payload_case() == v1::PublishEventRequest::PAYLOAD_NOT_SET) {
          data_json = R"({"message":"Test event from Wink Webhooks","webhook":)";
          AppendJsonString(data_json, request.name());
          data_json += "}";
        } else {
          WINK_ASSIGN_OR_RETURN(data_json, PayloadJson(payload, /*field_prefix=*/""));
        }
        // A paused webhook's deliveries are held until it resumes: a test
        // would tell nothing now. (Paused between here and the write, the
        // test is held and sent on resume, as any event would be.)
        WINK_ASSIGN_OR_RETURN(const storage::WebhookRecord webhook,
                              store_.Get(name.account, name.webhook_id));
        if (!webhook.enabled()) {
          return absl::FailedPreconditionError(
              absl::StrCat("webhook ", request.name(),
                           " is paused; resume it (UpdateWebhook enabled: true) to test it"));
        }
        storage::PublishRequest publish;
        publish.account = name.account;
        publish.event_type = kTestEventType;
        publish.data_json = std::move(data_json);
        publish.only_webhook_id = name.webhook_id;
        AttachTraceContext(call.trace_context(), publish);
        publish.quota = CurrentStoredQuota();
        std::shared_ptr<AttemptWaitSlot> wait_slot;
        absl::Time wait_until = absl::InfinitePast();
        if (request.wait_for_attempt()) {
          wait_slot = AttemptWaitSlot::Take(attempt_waits_);
          if (wait_slot == nullptr) {
            return absl::ResourceExhaustedError(absl::StrCat(
                "wait_for_attempt: ", kMaxAttemptWaits,
                " test events are already waiting for their first attempt on this server; "
                "retry later, or send without waiting and watch the delivery"));
          }
          wait_until = std::min(absl::Now() + kMaxAttemptWait,
                                absl::FromChrono(context->deadline()) - kAttemptWaitMargin);
        }
        WINK_RETURN_IF_ERROR(publish_limiter_.Admit(name.account, 1));
        events_.Publish(
            std::move(publish), [this, context, wait_until, wait_slot, &response,
                                 finish](absl::StatusOr<storage::PublishResult> result) {
              if (!result.ok()) return finish(result.status());
              metrics::Global().RecordPublished(metrics::PublishOutcome::kAccepted);
              EventToApi(result->event, response.mutable_event());
              const storage::DeliveryRecord& created = result->deliveries.front();
              DeliveryToApi(created, response.mutable_event()->add_deliveries());
              *response.mutable_delivery() = response.event().deliveries(0);
              response.set_watch_cursor(static_cast<int64_t>(result->event.watch_cursor()));
              if (wait_until <= absl::Now()) return finish(absl::OkStatus());
              FirstAttemptWait::Start(
                  deliveries_, context, created, wait_until,
                  [wait_slot, &response, finish](absl::StatusOr<v1::Delivery> delivery,
                                                 bool attempt_finished) {
                    // The event is durable and will be delivered: a failed
                    // look answers with the delivery as created.
                    if (delivery.ok()) *response.mutable_delivery() = *std::move(delivery);
                    response.set_attempt_finished(delivery.ok() && attempt_finished);
                    finish(absl::OkStatus());
                  });
            });
        return absl::OkStatus();
      });
}

}  // namespace wink::webhooks::api
