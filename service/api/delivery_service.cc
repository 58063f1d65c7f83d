#include "service/api/delivery_service.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "service/api/page_token.h"
#include "service/api/request_codec.h"
#include "service/api/resource_mapping.h"
#include "service/api/unary_call.h"
#include "service/common/errors.h"
#include "service/common/ids.h"
#include "service/common/log.h"
#include "service/common/resource_names.h"
#include "service/common/status_macros.h"

namespace wink::webhooks::api {
namespace {

// Updates read from the bus per pull.
constexpr int kWatchBatch = 256;
// Updates one Pump looks at before giving the thread back (the bus thread is
// shared by every watcher): a watcher far behind, filtering most updates
// out, continues on the next wake-up.
constexpr int kMaxUpdatesPerPump = 4096;

absl::Status ValidateStateFilter(v1::DeliveryState state) {
  if (!v1::DeliveryState_IsValid(state)) {
    return InvalidField("state", absl::StrCat("unknown delivery state ", static_cast<int>(state)));
  }
  return absl::OkStatus();
}

// What a ListDeliveries parent names: a webhook's deliveries, an event's,
// or (neither id set) the whole account's.
struct DeliveriesParent {
  std::string account;
  std::string webhook_id;  // set for a webhook parent
  std::string event_id;    // set for an event parent
};

absl::StatusOr<DeliveriesParent> ParseDeliveriesParent(absl::string_view parent) {
  if (auto webhook = ParseWebhookName(parent, "parent"); webhook.ok()) {
    return DeliveriesParent{webhook->account, webhook->webhook_id, ""};
  }
  if (auto event = ParseEventName(parent, "parent"); event.ok()) {
    return DeliveriesParent{event->account, "", event->event_id};
  }
  if (auto account = ParseAccountName(parent, "parent"); account.ok()) {
    return DeliveriesParent{*std::move(account), "", ""};
  }
  if (parent.empty()) return InvalidField("parent", "required");
  return InvalidField("parent",
                      absl::StrCat("expected accounts/{account}, "
                                   "accounts/{account}/webhooks/{webhook} or "
                                   "accounts/{account}/events/{event}, got ",
                                   QuoteForError(parent)));
}

// A time bound of a list filter; `unset` when the field is absent.
absl::StatusOr<absl::Time> TimeBound(bool present, const google::protobuf::Timestamp& timestamp,
                                     absl::Time unset, absl::string_view field) {
  if (!present) return unset;
  // The range google.protobuf.Timestamp allows: 0001-01-01 to 9999-12-31.
  constexpr int64_t kMinSeconds = -62135596800;
  constexpr int64_t kMaxSeconds = 253402300799;
  if (timestamp.seconds() < kMinSeconds || timestamp.seconds() > kMaxSeconds ||
      timestamp.nanos() < 0 || timestamp.nanos() > 999999999) {
    return InvalidField(field, "not a valid timestamp");
  }
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

// The state and time filters of a ListDeliveries request.
absl::StatusOr<storage::DeliveryLogFilter> ListFilter(const v1::ListDeliveriesRequest& request) {
  WINK_RETURN_IF_ERROR(ValidateStateFilter(request.state()));
  storage::DeliveryLogFilter filter;
  filter.state = static_cast<int>(request.state());
  WINK_ASSIGN_OR_RETURN(filter.published_from,
                        TimeBound(request.has_start_time(), request.start_time(),
                                  absl::InfinitePast(), "start_time"));
  WINK_ASSIGN_OR_RETURN(filter.published_before,
                        TimeBound(request.has_end_time(), request.end_time(),
                                  absl::InfiniteFuture(), "end_time"));
  if (filter.published_before <= filter.published_from) {
    return InvalidField("end_time", "must be after start_time");
  }
  return filter;
}

bool PublishedWithin(absl::string_view event_id, const storage::DeliveryLogFilter& filter) {
  const absl::Time published = IdTime(event_id, kEventIdPrefix);
  return published >= filter.published_from && published < filter.published_before;
}

// Page tokens of the account's log: "{event id}/{webhook id}" (the webhook
// id may be empty: the event's deliveries start from the first).
std::string EncodeLogPosition(const storage::DeliveryLogPosition& position) {
  return absl::StrCat(position.event_id, "/", position.webhook_id);
}

absl::StatusOr<std::optional<storage::DeliveryLogPosition>> DecodeLogPosition(
    absl::string_view encoded) {
  if (encoded.empty()) return std::nullopt;
  const std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(encoded, absl::MaxSplits('/', 1));
  if (!IsValidId(parts.first, kEventIdPrefix) ||
      (!parts.second.empty() && !IsValidId(parts.second, kWebhookIdPrefix))) {
    return absl::InvalidArgumentError("page_token: not a token returned by this method");
  }
  return storage::DeliveryLogPosition{std::string(parts.first), std::string(parts.second)};
}


// One WatchDeliveries stream.
class WatchReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  // The stores check the filters; `admission` counts the stream while it is
  // open.
  WatchReactor(grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
               delivery::StatusBus& bus, const auth::Authenticator& authenticator,
               storage::WebhookStore& webhooks, storage::EventLog& events,
               WatchAdmission& admission, KeyedStreams* keyed_streams)
      : call_(context, "WatchDeliveries", authenticator),
        bus_(bus),
        webhooks_(webhooks),
        events_(events),
        admission_(admission),
        start_(absl::Now()) {
    const absl::Status status = Begin(*request_bytes);
    if (!status.ok()) {
      absl::MutexLock lock(&mu_);
      FinishLocked(status);
      return;
    }
    if (keyed_streams != nullptr) {
      keyed_streams_ = keyed_streams;
      keyed_stream_id_ = keyed_streams->Add(call_.principal(), [this] {
        absl::MutexLock lock(&mu_);
        FinishLocked(absl::UnauthenticatedError(
            "the API key or token of this stream was revoked, rotated out, removed or has expired"));
      });
    }
    subscription_ =
        bus_.Subscribe(account_, [this](bool may_read_log) { Pump(may_read_log); });
    Pump(/*may_read_log=*/false);
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ok) {
        FinishLocked(absl::CancelledError("the stream was closed"));
        return;
      }
      ++sent_;
    }
    Pump(/*may_read_log=*/false);
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(absl::CancelledError("the caller cancelled the stream"));
  }

  void OnDone() override {
    if (keyed_streams_ != nullptr) keyed_streams_->Remove(keyed_stream_id_);
    if (subscription_ != 0) bus_.Unsubscribe(subscription_);
    if (admitted_) admission_.Leave(account_);
    {
      LogLine line(final_status_.ok() || absl::IsCancelled(final_status_) ? LogLevel::kInfo
                                                                            : LogLevel::kWarning,
                   "rpc");
      line.Field("method", "WatchDeliveries")
          .Field("account", account_.empty() ? absl::string_view("-")
                                             : absl::string_view(account_))
          .Field("code", absl::StatusCodeToString(final_status_.code()))
          .Field("updates_sent", sent_)
          .Field("duration_ms", absl::ToDoubleMilliseconds(absl::Now() - start_))
          .Field("cursor", static_cast<int64_t>(cursor_));
      if (!final_status_.ok()) line.Field("error", final_status_.message());
    }
    delete this;
  }

 private:
  absl::Status Begin(const grpc::ByteBuffer& request_bytes) {
    WINK_RETURN_IF_ERROR(call_.Authenticate());
    v1::WatchDeliveriesRequest request;
    WINK_RETURN_IF_ERROR(ParseRequest(request_bytes, request));
    WINK_ASSIGN_OR_RETURN(account_, ParseAccountName(request.parent(), "parent"));
    WINK_RETURN_IF_ERROR(call_.Authorize(account_));
    if (!request.webhook().empty()) {
      WINK_ASSIGN_OR_RETURN(const WebhookName webhook,
                            ParseWebhookName(request.webhook(), "webhook"));
      if (webhook.account != account_) {
        return InvalidField("webhook", "must be a webhook of the account named in parent");
      }
      webhook_id_ = webhook.webhook_id;
      // A filter that can never match would only make the stream read the
      // log for nothing.
      const absl::Status exists = webhooks_.Get(account_, webhook_id_).status();
      if (absl::IsNotFound(exists)) {
        return absl::NotFoundError(absl::StrCat("webhook: ", request.webhook(), " not found"));
      }
      WINK_RETURN_IF_ERROR(exists);
    }
    if (!request.event().empty()) {
      WINK_ASSIGN_OR_RETURN(const EventName event, ParseEventName(request.event(), "event"));
      if (event.account != account_) {
        return InvalidField("event", "must be an event of the account named in parent");
      }
      event_id_ = event.event_id;
      const absl::Status exists = events_.GetEvent(account_, event_id_).status();
      if (absl::IsNotFound(exists)) {
        return absl::NotFoundError(absl::StrCat("event: ", request.event(), " not found"));
      }
      WINK_RETURN_IF_ERROR(exists);
    }
    const uint64_t last = bus_.last_sequence();
    if (request.start_cursor() < 0) return InvalidField("start_cursor", "must not be negative");
    if (request.start_cursor() == 0) {
      cursor_ = last;
    } else if (static_cast<uint64_t>(request.start_cursor()) > last) {
      return absl::OutOfRangeError(absl::StrCat("start_cursor: ", request.start_cursor(),
                                                " is ahead of the newest update (", last, ")"));
    } else {
      cursor_ = static_cast<uint64_t>(request.start_cursor());
    }
    // Last: a refused request holds no place.
    WINK_RETURN_IF_ERROR(admission_.Enter(account_));
    admitted_ = true;
    return absl::OkStatus();
  }

  bool Matches(const internal::v1::DeliveryRecord& delivery) const {
    return delivery.account() == account_ &&
           (webhook_id_.empty() || delivery.webhook_id() == webhook_id_) &&
           (event_id_.empty() || delivery.event_id() == event_id_);
  }

  // Sends the next matching update if no write is in flight. Reads the
  // update log (storage) only when `may_read_log` (on the bus's catch-up
  // thread); elsewhere a cursor older than the bus's ring asks for that.
  void Pump(bool may_read_log) {
    absl::MutexLock lock(&mu_);
    if (writing_ || finished_) return;
    for (int looked_at = 0;; ++looked_at) {
      if (looked_at == kMaxUpdatesPerPump) {
        if (bus_.closed()) {
          // No more wake-ups will come: end now, with the cursor to resume.
          FinishLocked(absl::UnavailableError(absl::StrCat(
              "the server is shutting down; reconnect with start_cursor=", cursor_)));
          return;
        }
        if (may_read_log) {
          bus_.RequestCatchUp(subscription_);
        } else {
          bus_.RequestWake(subscription_);
        }
        return;
      }
      if (pending_.empty()) {
        if (bus_.closed()) {
          FinishLocked(absl::UnavailableError(absl::StrCat(
              "the server is shutting down; reconnect with start_cursor=", cursor_)));
          return;
        }
        // What the last batch skipped (other accounts' updates) is behind us.
        cursor_ = std::max(cursor_, read_through_);
        std::vector<storage::DeliveryUpdate> batch;
        if (may_read_log) {
          auto read = bus_.Read(cursor_, kWatchBatch);
          if (!read.ok()) {
            FinishLocked(read.status());
            return;
          }
          batch = *std::move(read);
          read_through_ = cursor_;  // every update read is in `batch`
        } else if (auto recent = bus_.ReadRecentOf(account_, cursor_, kWatchBatch)) {
          batch = std::move(recent->updates);
          read_through_ = recent->read_through;
        } else {
          bus_.RequestCatchUp(subscription_);
          return;
        }
        if (batch.empty()) {
          cursor_ = std::max(cursor_, read_through_);
          return;  // woken again by the account's next update
        }
        pending_.assign(std::make_move_iterator(batch.begin()),
                        std::make_move_iterator(batch.end()));
      }
      storage::DeliveryUpdate update = std::move(pending_.front());
      pending_.pop_front();
      cursor_ = update.sequence;
      if (!Matches(update.delivery)) continue;
      v1::WatchDeliveriesResponse response;
      response.set_cursor(static_cast<int64_t>(update.sequence));
      DeliveryToApi(update.delivery, response.mutable_delivery());
      buffer_.Clear();  // the previous write is done with it
      const absl::Status status = SerializeResponse(response, buffer_);
      if (!status.ok()) {
        FinishLocked(status);
        return;
      }
      writing_ = true;
      StartWrite(&buffer_);
      return;
    }
  }

  void FinishLocked(const absl::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    final_status_ = status;
    Finish(ToGrpcStatus(status));
  }

  UnaryCall call_;  // authentication and authorization only
  delivery::StatusBus& bus_;
  storage::WebhookStore& webhooks_;
  storage::EventLog& events_;
  WatchAdmission& admission_;
  bool admitted_ = false;
  const absl::Time start_;
  std::string account_;
  std::string webhook_id_;
  std::string event_id_;
  int subscription_ = 0;
  // Set when the stream was opened with an application's key.
  KeyedStreams* keyed_streams_ = nullptr;
  uint64_t keyed_stream_id_ = 0;

  absl::Mutex mu_;
  uint64_t cursor_ ABSL_GUARDED_BY(mu_) = 0;
  // The last batch from the bus covered every update up to here (those of
  // other accounts were skipped); the cursor moves there once `pending_`
  // is sent.
  uint64_t read_through_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<storage::DeliveryUpdate> pending_ ABSL_GUARDED_BY(mu_);
  grpc::ByteBuffer buffer_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status final_status_;
  int64_t sent_ = 0;
};

}  // namespace

DeliveryServiceImpl::DeliveryServiceImpl(storage::DeliveryLedger& deliveries,
                                         storage::WebhookStore& webhooks,
                                         storage::EventLog& events, delivery::StatusBus& bus,
                                         const auth::Authenticator& authenticator,
                                         const Clock& clock, WatchLimits watch_limits,
                                         KeyedStreams* keyed_streams)
    : deliveries_(deliveries),
      webhooks_(webhooks),
      events_(events),
      bus_(bus),
      authenticator_(authenticator),
      watch_admission_(watch_limits),
      keyed_streams_(keyed_streams),
      recoveries_(deliveries, clock) {}

grpc::ServerWriteReactor<grpc::ByteBuffer>* DeliveryServiceImpl::WatchDeliveries(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request) {
  return new WatchReactor(context, request, bus_, authenticator_, webhooks_, events_,
                          watch_admission_, keyed_streams_);
}

grpc::ServerUnaryReactor* DeliveryServiceImpl::ListDeliveries(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::ListDeliveriesRequest, v1::ListDeliveriesResponse>(
      context, "ListDeliveries", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::ListDeliveriesRequest& request,
          v1::ListDeliveriesResponse& response) {
        WINK_ASSIGN_OR_RETURN(const DeliveriesParent parent,
                              ParseDeliveriesParent(request.parent()));
        WINK_RETURN_IF_ERROR(call.Authorize(parent.account));
        WINK_ASSIGN_OR_RETURN(const storage::DeliveryLogFilter filter, ListFilter(request));
        WINK_ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(request.page_size()));
        // A token is only valid for the parent and filters it was made for.
        const std::string token_scope = absl::StrCat(
            request.parent(), "?state=", filter.state,
            "&start=", absl::FormatTime(absl::RFC3339_full, filter.published_from, absl::UTCTimeZone()),
            "&end=", absl::FormatTime(absl::RFC3339_full, filter.published_before, absl::UTCTimeZone()));
        WINK_ASSIGN_OR_RETURN(const std::string after,
                              DecodePageToken(request.page_token(), token_scope));
        if (parent.webhook_id.empty() && parent.event_id.empty()) {
          WINK_ASSIGN_OR_RETURN(const std::optional<storage::DeliveryLogPosition> position,
                                DecodeLogPosition(after));
          WINK_ASSIGN_OR_RETURN(
              const storage::DeliveryLogPage page,
              deliveries_.ListDeliveriesOfAccount(parent.account, filter, position, page_size));
          for (const auto& delivery : page.deliveries) {
            DeliveryToApi(delivery, response.add_deliveries());
          }
          if (page.continue_from.has_value()) {
            response.set_next_page_token(
                EncodePageToken(token_scope, EncodeLogPosition(*page.continue_from)));
          }
          return absl::OkStatus();
        }
        storage::DeliveryPage page;
        if (!parent.event_id.empty() && !PublishedWithin(parent.event_id, filter)) {
          return absl::OkStatus();  // every delivery of an event shares its time
        }
        if (!parent.webhook_id.empty()) {
          if (!after.empty() && !IsValidId(after, kEventIdPrefix)) {
            return absl::InvalidArgumentError("page_token: not a token returned by this method");
          }
          WINK_ASSIGN_OR_RETURN(page, deliveries_.ListDeliveriesOfWebhook(
                                          parent.account, parent.webhook_id, after,
                                          static_cast<int>(request.state()), page_size));
        } else {
          if (!after.empty() && !IsValidId(after, kWebhookIdPrefix)) {
            return absl::InvalidArgumentError("page_token: not a token returned by this method");
          }
          WINK_ASSIGN_OR_RETURN(page, deliveries_.ListDeliveriesOfEvent(
                                          parent.account, parent.event_id, after,
                                          static_cast<int>(request.state()), page_size));
        }
        for (const auto& delivery : page.deliveries) {
          // Pages stay bounded by the scan; a time filter may make them short.
          if (!PublishedWithin(delivery.event_id(), filter)) continue;
          DeliveryToApi(delivery, response.add_deliveries());
        }
        if (!page.continue_from.empty()) {
          response.set_next_page_token(EncodePageToken(token_scope, page.continue_from));
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DeliveryServiceImpl::GetDelivery(grpc::CallbackServerContext* context,
                                                           const grpc::ByteBuffer* request_bytes,
                                                           grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::GetDeliveryRequest, v1::Delivery>(
      context, "GetDelivery", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::GetDeliveryRequest& request, v1::Delivery& response) {
        WINK_ASSIGN_OR_RETURN(const DeliveryName name, ParseDeliveryName(request.name(), "name"));
        WINK_RETURN_IF_ERROR(call.Authorize(name.account));
        WINK_ASSIGN_OR_RETURN(const storage::DeliveryRecord delivery,
                              deliveries_.GetDelivery(name.account, name.webhook_id, name.event_id));
        DeliveryToApi(delivery, &response);
        WINK_ASSIGN_OR_RETURN(const std::vector<storage::AttemptRecord> attempts,
                              deliveries_.ListAttempts(name.webhook_id, name.event_id));
        for (const auto& attempt : attempts) AttemptToApi(attempt, response.add_attempts());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DeliveryServiceImpl::RetryDelivery(grpc::CallbackServerContext* context,
                                                             const grpc::ByteBuffer* request_bytes,
                                                             grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::RetryDeliveryRequest, v1::Delivery>(
      context, "RetryDelivery", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::RetryDeliveryRequest& request, v1::Delivery& response) {
        WINK_ASSIGN_OR_RETURN(const DeliveryName name, ParseDeliveryName(request.name(), "name"));
        WINK_RETURN_IF_ERROR(call.Authorize(name.account));
        WINK_ASSIGN_OR_RETURN(const storage::DeliveryRecord delivery,
                              deliveries_.RetryNow(name.account, name.webhook_id, name.event_id));
        DeliveryToApi(delivery, &response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DeliveryServiceImpl::RecoverDeliveries(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::RecoverDeliveriesRequest, v1::Recovery>(
      context, "RecoverDeliveries", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::RecoverDeliveriesRequest& request, v1::Recovery& response) {
        WINK_ASSIGN_OR_RETURN(const WebhookName webhook,
                              ParseWebhookName(request.parent(), "parent"));
        WINK_RETURN_IF_ERROR(call.Authorize(webhook.account));
        RecoveryRequest recovery;
        recovery.account = webhook.account;
        recovery.webhook_id = webhook.webhook_id;
        recovery.include_succeeded = request.include_succeeded();
        if (!request.has_start_time()) return InvalidField("start_time", "required");
        WINK_ASSIGN_OR_RETURN(recovery.published_from,
                              TimeBound(true, request.start_time(), absl::InfinitePast(),
                                        "start_time"));
        WINK_ASSIGN_OR_RETURN(recovery.published_before,
                              TimeBound(request.has_end_time(), request.end_time(),
                                        absl::InfiniteFuture(), "end_time"));
        if (recovery.published_before <= recovery.published_from) {
          return InvalidField("end_time", "must be after start_time");
        }
        WINK_ASSIGN_OR_RETURN(const storage::WebhookRecord record,
                              webhooks_.Get(webhook.account, webhook.webhook_id));
        if (!record.enabled()) {
          return absl::FailedPreconditionError(
              "parent: the webhook is paused; resume it first (its held deliveries are sent "
              "then), or the recovery would only hold them");
        }
        WINK_ASSIGN_OR_RETURN(response, recoveries_.Start(recovery));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* DeliveryServiceImpl::GetRecovery(grpc::CallbackServerContext* context,
                                                           const grpc::ByteBuffer* request_bytes,
                                                           grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::GetRecoveryRequest, v1::Recovery>(
      context, "GetRecovery", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::GetRecoveryRequest& request, v1::Recovery& response) {
        WINK_ASSIGN_OR_RETURN(const RecoveryName name, ParseRecoveryName(request.name(), "name"));
        WINK_RETURN_IF_ERROR(call.Authorize(name.account));
        WINK_ASSIGN_OR_RETURN(response,
                              recoveries_.Get(name.account, name.webhook_id, name.recovery_id));
        return absl::OkStatus();
      });
}

}  // namespace wink::webhooks::api
