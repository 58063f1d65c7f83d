#include "wink/webhooks/client.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace wink::webhooks {
namespace {

// The service's message when it ends a watch for shutdown names the cursor
// to resume from: "... reconnect with start_cursor=123".
constexpr absl::string_view kResumeCursorMarker = "start_cursor=";

absl::Status FromGrpcStatus(const grpc::Status& status) {
  // grpc::StatusCode and absl::StatusCode use the same numbers (both are the
  // canonical codes of google.rpc.Code).
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

absl::Status InvalidOption(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

// The contents of the PEM file `path` for the option `field`.
absl::StatusOr<std::string> ReadPem(absl::string_view field, const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream contents;
  if (file) contents << file.rdbuf();
  // A directory "opens" on Linux but reads nothing.
  if (!file || contents.str().empty()) {
    return InvalidOption(field,
                         absl::StrCat("cannot read \"", path, "\" (missing, empty or not a file)"));
  }
  // gRPC would only fail the handshake later, as UNAVAILABLE on every call.
  if (!absl::StrContains(contents.str(), "-----BEGIN ")) {
    return InvalidOption(field, absl::StrCat("no PEM data (-----BEGIN ...) in \"", path, "\""));
  }
  return contents.str();
}

absl::Status ValidateOptions(const ClientOptions& options) {
  if (options.address.empty() && options.channel == nullptr) {
    return InvalidOption("address", "required (host:port), unless a channel is given");
  }
  if (options.tls.has_value() && options.credentials != nullptr) {
    return InvalidOption("tls", "set either tls or credentials, not both");
  }
  for (const char c : options.token) {
    // Metadata values must be printable ASCII; a space would also split the
    // "Bearer <token>" value.
    if (c <= ' ' || c > '~') {
      return InvalidOption("token", "must be printable ASCII without spaces");
    }
  }
  if (options.default_timeout <= absl::ZeroDuration()) {
    return InvalidOption("default_timeout", "must be positive");
  }
  const RetryPolicy& retry = options.retry;
  if (retry.max_attempts < 1) {
    return InvalidOption("retry.max_attempts",
                         absl::StrCat("must be at least 1, got ", retry.max_attempts));
  }
  if (retry.initial_backoff <= absl::ZeroDuration()) {
    return InvalidOption("retry.initial_backoff", "must be positive");
  }
  if (retry.max_backoff < retry.initial_backoff) {
    return InvalidOption("retry.max_backoff", "must not be less than retry.initial_backoff");
  }
  if (!(retry.backoff_multiplier >= 1.0)) {
    return InvalidOption("retry.backoff_multiplier", "must be at least 1");
  }
  if (!(retry.jitter >= 0.0 && retry.jitter <= 1.0)) {
    return InvalidOption("retry.jitter", "must be between 0 and 1");
  }
  return absl::OkStatus();
}

// Exponential backoff with jitter. Not thread-safe: one per call.
class Backoff {
 public:
  explicit Backoff(const RetryPolicy& policy) : policy_(policy), base_(policy.initial_backoff) {}

  // The delay before the next attempt; each call grows the next one.
  absl::Duration Next() {
    const double factor =
        absl::Uniform(absl::IntervalClosed, random_, 1.0 - policy_.jitter, 1.0 + policy_.jitter);
    const absl::Duration delay = std::min(base_ * factor, policy_.max_backoff);
    base_ = std::min(base_ * policy_.backoff_multiplier, policy_.max_backoff);
    return delay;
  }

  void Reset() { base_ = policy_.initial_backoff; }

 private:
  const RetryPolicy& policy_;
  absl::Duration base_;
  absl::BitGen random_;
};

std::shared_ptr<grpc::Channel> MakeChannel(const ClientOptions& options,
                                           std::shared_ptr<grpc::ChannelCredentials> credentials) {
  if (options.channel != nullptr) return options.channel;
  grpc::ChannelArguments arguments;
  if (options.tls.has_value() && !options.tls->server_name.empty()) {
    arguments.SetSslTargetNameOverride(options.tls->server_name);
  }
  // gRPC's own reconnect backoff (1 s growing to 120 s by default) would
  // keep failing our retries fast with UNAVAILABLE long after a restarted
  // server is back; make the channel look for it on our schedule.
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
                   static_cast<int>(absl::ToInt64Milliseconds(options.retry.initial_backoff)));
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
                   static_cast<int>(absl::ToInt64Milliseconds(options.retry.max_backoff)));
  // After every address failed, gRPC 1.51's pick_first waits for the
  // resolver to answer again before it connects anew, and the resolver
  // rate-limits that (30 s by default): a restarted server stayed
  // unreachable for seconds after it was back. Re-resolution only happens
  // after failures, so a short minimum costs nothing while connected.
  arguments.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS,
                   static_cast<int>(absl::ToInt64Milliseconds(options.retry.initial_backoff)));
  arguments.SetUserAgentPrefix("wink-webhooks-client/0.1");
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  return grpc::CreateCustomChannel(options.address, credentials, arguments);
}

// The cursor named in a watch's UNAVAILABLE message at server shutdown, or 0.
int64_t ResumeCursorFromMessage(absl::string_view message) {
  const size_t at = message.find(kResumeCursorMarker);
  if (at == absl::string_view::npos) return 0;
  absl::string_view digits = message.substr(at + kResumeCursorMarker.size());
  size_t length = 0;
  while (length < digits.size() && absl::ascii_isdigit(digits[length])) ++length;
  int64_t cursor = 0;
  if (!absl::SimpleAtoi(digits.substr(0, length), &cursor)) return 0;
  return cursor;
}

void FillIdempotencyKey(v1::PublishEventRequest& request) {
  if (request.idempotency_key().empty()) request.set_idempotency_key(NewIdempotencyKey());
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> TlsChannelCredentials(
    const TlsOptions& tls) {
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return tls.cert_file.empty() ? InvalidOption("tls.cert_file", "required with tls.key_file")
                                 : InvalidOption("tls.key_file", "required with tls.cert_file");
  }
  grpc::SslCredentialsOptions ssl;
  if (!tls.ca_file.empty()) {
    absl::StatusOr<std::string> roots = ReadPem("tls.ca_file", tls.ca_file);
    if (!roots.ok()) return roots.status();
    ssl.pem_root_certs = *std::move(roots);
  }
  if (!tls.cert_file.empty()) {
    absl::StatusOr<std::string> chain = ReadPem("tls.cert_file", tls.cert_file);
    if (!chain.ok()) return chain.status();
    absl::StatusOr<std::string> key = ReadPem("tls.key_file", tls.key_file);
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(chain);
    ssl.pem_private_key = *std::move(key);
  }
  return grpc::SslCredentials(ssl);
}

std::string NewIdempotencyKey() {
  // absl::BitGen is seeded from the OS entropy pool; 122 random bits make a
  // collision between two keys of one account out of the question.
  thread_local absl::BitGen random;
  uint8_t bytes[16];
  for (uint8_t& byte : bytes) byte = absl::Uniform<uint8_t>(random);
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string key;
  key.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) key.push_back('-');
    key.push_back(kHex[bytes[i] >> 4]);
    key.push_back(kHex[bytes[i] & 0x0f]);
  }
  return key;
}

// ---- WatchCancellation ----

void WatchCancellation::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  // TryCancel is thread-safe and makes the blocked Read return false.
  if (context_ != nullptr) context_->TryCancel();
}

bool WatchCancellation::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

bool WatchCancellation::Attach(grpc::ClientContext* context) {
  absl::MutexLock lock(&mu_);
  if (cancelled_) return false;
  context_ = context;
  return true;
}

void WatchCancellation::Detach() {
  absl::MutexLock lock(&mu_);
  context_ = nullptr;
}

bool WatchCancellation::SleepFor(absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&cancelled_), delay);
  return !cancelled_;
}

// ---- Client ----

absl::StatusOr<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  const absl::Status valid = ValidateOptions(options);
  if (!valid.ok()) return valid;
  std::shared_ptr<grpc::ChannelCredentials> credentials = options.credentials;
  if (options.tls.has_value() && options.channel == nullptr) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> tls =
        TlsChannelCredentials(*options.tls);
    if (!tls.ok()) return tls.status();
    credentials = *std::move(tls);
  }
  std::shared_ptr<grpc::Channel> channel = MakeChannel(options, std::move(credentials));
  return std::unique_ptr<Client>(new Client(std::move(options), std::move(channel)));
}

Client::Client(ClientOptions options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      webhooks_(v1::WebhookService::NewStub(channel_)),
      deliveries_(v1::DeliveryService::NewStub(channel_)),
      applications_(v1::ApplicationService::NewStub(channel_)) {}

Client::~Client() = default;

void Client::PrepareContext(grpc::ClientContext& context, absl::Time deadline) const {
  if (!options_.token.empty()) context.AddMetadata("authorization", "Bearer " + options_.token);
  if (deadline != absl::InfiniteFuture()) context.set_deadline(absl::ToChronoTime(deadline));
}

absl::Status Client::Invoke(absl::string_view method, Retry retry, const CallOptions& options,
                            absl::FunctionRef<grpc::Status(grpc::ClientContext*)> attempt) const {
  const absl::Duration timeout = options.timeout.value_or(options_.default_timeout);
  if (timeout <= absl::ZeroDuration()) {
    return InvalidOption("timeout", "must be positive");
  }
  const absl::Time deadline = absl::Now() + timeout;
  Backoff backoff(options_.retry);
  absl::Status unavailable;  // why the last retry was needed
  for (int number = 1;; ++number) {
    grpc::ClientContext context;
    PrepareContext(context, deadline);
    for (const auto& [key, value] : options.metadata) context.AddMetadata(key, value);
    absl::Status status = FromGrpcStatus(attempt(&context));
    if (absl::IsDeadlineExceeded(status) && !unavailable.ok() && absl::Now() >= deadline) {
      // The deadline ran out in a retry (e.g. while it reconnected): what
      // the caller needs to know is why the call was being retried.
      return absl::UnavailableError(absl::StrCat(unavailable.message(), " (", number - 1,
                                                 " attempts, then the deadline passed)"));
    }
    if (status.ok() || retry == Retry::kNever || !absl::IsUnavailable(status) ||
        number >= options_.retry.max_attempts) {
      return status;
    }
    unavailable = status;
    const absl::Duration delay = backoff.Next();
    if (absl::Now() + delay >= deadline) return status;
    if (options_.on_retry) options_.on_retry(RetryEvent{method, number, status, delay, 0});
    absl::SleepFor(delay);
  }
}

template <typename Stub, typename Request, typename Response>
absl::StatusOr<Response> Client::Unary(absl::string_view method, Retry retry,
                                       grpc::Status (Stub::*rpc)(grpc::ClientContext*,
                                                                 const Request&, Response*),
                                       Stub& stub, const Request& request,
                                       const CallOptions& options) const {
  Response response;
  const absl::Status status = Invoke(method, retry, options, [&](grpc::ClientContext* context) {
    response.Clear();  // a failed attempt may have left something behind
    return (stub.*rpc)(context, request, &response);
  });
  if (!status.ok()) return status;
  return response;
}

// One line per RPC: which stub method, and whether it may be retried (see
// the header for why).

absl::StatusOr<v1::Webhook> Client::CreateWebhook(const v1::CreateWebhookRequest& request,
                                                  const CallOptions& options) {
  return Unary("CreateWebhook", Retry::kNever, &v1::WebhookService::Stub::CreateWebhook, *webhooks_,
               request, options);
}

absl::StatusOr<v1::Webhook> Client::GetWebhook(const v1::GetWebhookRequest& request,
                                               const CallOptions& options) {
  return Unary("GetWebhook", Retry::kOnUnavailable, &v1::WebhookService::Stub::GetWebhook,
               *webhooks_, request, options);
}

absl::StatusOr<v1::ListWebhooksResponse> Client::ListWebhooks(
    const v1::ListWebhooksRequest& request, const CallOptions& options) {
  return Unary("ListWebhooks", Retry::kOnUnavailable, &v1::WebhookService::Stub::ListWebhooks,
               *webhooks_, request, options);
}

absl::StatusOr<v1::Webhook> Client::UpdateWebhook(const v1::UpdateWebhookRequest& request,
                                                  const CallOptions& options) {
  return Unary("UpdateWebhook", Retry::kNever, &v1::WebhookService::Stub::UpdateWebhook, *webhooks_,
               request, options);
}

absl::StatusOr<google::protobuf::Empty> Client::DeleteWebhook(
    const v1::DeleteWebhookRequest& request, const CallOptions& options) {
  return Unary("DeleteWebhook", Retry::kNever, &v1::WebhookService::Stub::DeleteWebhook, *webhooks_,
               request, options);
}

absl::StatusOr<v1::Webhook> Client::RotateWebhookSecret(
    const v1::RotateWebhookSecretRequest& request, const CallOptions& options) {
  return Unary("RotateWebhookSecret", Retry::kNever, &v1::WebhookService::Stub::RotateWebhookSecret,
               *webhooks_, request, options);
}

absl::StatusOr<v1::ListEventTypesResponse> Client::ListEventTypes(
    const v1::ListEventTypesRequest& request, const CallOptions& options) {
  return Unary("ListEventTypes", Retry::kOnUnavailable, &v1::WebhookService::Stub::ListEventTypes,
               *webhooks_, request, options);
}

absl::StatusOr<v1::PublishEventResponse> Client::PublishEvent(
    const v1::PublishEventRequest& request, const CallOptions& options) {
  v1::PublishEventRequest keyed = request;
  FillIdempotencyKey(keyed);
  return Unary("PublishEvent", Retry::kOnUnavailable, &v1::WebhookService::Stub::PublishEvent,
               *webhooks_, keyed, options);
}

absl::StatusOr<v1::BatchPublishEventsResponse> Client::BatchPublishEvents(
    const v1::BatchPublishEventsRequest& request, const CallOptions& options) {
  v1::BatchPublishEventsRequest keyed = request;
  for (v1::PublishEventRequest& entry : *keyed.mutable_requests()) FillIdempotencyKey(entry);
  return Unary("BatchPublishEvents", Retry::kOnUnavailable,
               &v1::WebhookService::Stub::BatchPublishEvents, *webhooks_, keyed, options);
}

absl::StatusOr<v1::Event> Client::GetEvent(const v1::GetEventRequest& request,
                                           const CallOptions& options) {
  return Unary("GetEvent", Retry::kOnUnavailable, &v1::WebhookService::Stub::GetEvent, *webhooks_,
               request, options);
}

absl::StatusOr<v1::ListEventsResponse> Client::ListEvents(const v1::ListEventsRequest& request,
                                                          const CallOptions& options) {
  return Unary("ListEvents", Retry::kOnUnavailable, &v1::WebhookService::Stub::ListEvents,
               *webhooks_, request, options);
}

absl::StatusOr<v1::SendTestEventResponse> Client::SendTestEvent(
    const v1::SendTestEventRequest& request, const CallOptions& options) {
  return Unary("SendTestEvent", Retry::kNever, &v1::WebhookService::Stub::SendTestEvent,
               *webhooks_, request, options);
}

absl::StatusOr<v1::ListDeliveriesResponse> Client::ListDeliveries(
    const v1::ListDeliveriesRequest& request, const CallOptions& options) {
  return Unary("ListDeliveries", Retry::kOnUnavailable, &v1::DeliveryService::Stub::ListDeliveries,
               *deliveries_, request, options);
}

absl::StatusOr<v1::Delivery> Client::GetDelivery(const v1::GetDeliveryRequest& request,
                                                 const CallOptions& options) {
  return Unary("GetDelivery", Retry::kOnUnavailable, &v1::DeliveryService::Stub::GetDelivery,
               *deliveries_, request, options);
}

absl::StatusOr<v1::Delivery> Client::RetryDelivery(const v1::RetryDeliveryRequest& request,
                                                   const CallOptions& options) {
  return Unary("RetryDelivery", Retry::kNever, &v1::DeliveryService::Stub::RetryDelivery,
               *deliveries_, request, options);
}

absl::StatusOr<v1::Recovery> Client::RecoverDeliveries(const v1::RecoverDeliveriesRequest& request,
                                                       const CallOptions& options) {
  return Unary("RecoverDeliveries", Retry::kNever,
               &v1::DeliveryService::Stub::RecoverDeliveries, *deliveries_, request, options);
}

absl::StatusOr<v1::Recovery> Client::GetRecovery(const v1::GetRecoveryRequest& request,
                                                 const CallOptions& options) {
  return Unary("GetRecovery", Retry::kOnUnavailable, &v1::DeliveryService::Stub::GetRecovery,
               *deliveries_, request, options);
}

absl::StatusOr<v1::CreateApplicationResponse> Client::CreateApplication(
    const v1::CreateApplicationRequest& request, const CallOptions& options) {
  return Unary("CreateApplication", Retry::kNever, &v1::ApplicationService::Stub::CreateApplication,
               *applications_, request, options);
}

absl::StatusOr<v1::Application> Client::GetApplication(const v1::GetApplicationRequest& request,
                                                       const CallOptions& options) {
  return Unary("GetApplication", Retry::kOnUnavailable,
               &v1::ApplicationService::Stub::GetApplication, *applications_, request, options);
}

absl::StatusOr<v1::ListApplicationsResponse> Client::ListApplications(
    const v1::ListApplicationsRequest& request, const CallOptions& options) {
  return Unary("ListApplications", Retry::kOnUnavailable,
               &v1::ApplicationService::Stub::ListApplications, *applications_, request, options);
}

absl::StatusOr<v1::Application> Client::UpdateApplication(
    const v1::UpdateApplicationRequest& request, const CallOptions& options) {
  return Unary("UpdateApplication", Retry::kNever, &v1::ApplicationService::Stub::UpdateApplication,
               *applications_, request, options);
}

absl::StatusOr<google::protobuf::Empty> Client::DeleteApplication(
    const v1::DeleteApplicationRequest& request, const CallOptions& options) {
  return Unary("DeleteApplication", Retry::kNever, &v1::ApplicationService::Stub::DeleteApplication,
               *applications_, request, options);
}

absl::StatusOr<v1::RotateApplicationKeyResponse> Client::RotateApplicationKey(
    const v1::RotateApplicationKeyRequest& request, const CallOptions& options) {
  return Unary("RotateApplicationKey", Retry::kNever,
               &v1::ApplicationService::Stub::RotateApplicationKey, *applications_, request,
               options);
}

absl::StatusOr<v1::Application> Client::RevokeApplication(
    const v1::RevokeApplicationRequest& request, const CallOptions& options) {
  return Unary("RevokeApplication", Retry::kOnUnavailable,
               &v1::ApplicationService::Stub::RevokeApplication, *applications_, request, options);
}

absl::Status Client::WatchDeliveries(const v1::WatchDeliveriesRequest& request,
                                     const WatchCallback& on_update, const WatchOptions& options) {
  if (options.timeout.has_value() && *options.timeout <= absl::ZeroDuration()) {
    return InvalidOption("timeout", "must be positive");
  }
  if (options.max_reconnect_attempts < 0) {
    return InvalidOption("max_reconnect_attempts", "must not be negative");
  }
  const absl::Time deadline =
      options.timeout.has_value() ? absl::Now() + *options.timeout : absl::InfiniteFuture();
  WatchCancellation own_cancellation;
  WatchCancellation& cancellation =
      options.cancellation != nullptr ? *options.cancellation : own_cancellation;
  v1::WatchDeliveriesRequest next = request;
  Backoff backoff(options_.retry);
  int failures = 0;  // streams in a row that ended UNAVAILABLE without an update
  while (true) {
    grpc::ClientContext context;
    PrepareContext(context, deadline);
    if (!cancellation.Attach(&context)) return absl::CancelledError("the watch was cancelled");
    std::unique_ptr<grpc::ClientReader<v1::WatchDeliveriesResponse>> reader =
        deliveries_->WatchDeliveries(&context, next);
    v1::WatchDeliveriesResponse update;
    bool delivered = false;
    bool stopped = false;
    while (reader->Read(&update)) {
      delivered = true;
      next.set_start_cursor(update.cursor());
      if (!on_update(update)) {
        stopped = true;
        context.TryCancel();
        break;
      }
    }
    const grpc::Status finished = reader->Finish();
    cancellation.Detach();
    if (stopped) return absl::OkStatus();
    if (cancellation.cancelled()) return absl::CancelledError("the watch was cancelled");
    absl::Status status = FromGrpcStatus(finished);
    // The stream never ends OK on its own; if something in between ends it
    // that way, carry on like after a lost connection.
    if (status.ok()) status = absl::UnavailableError("the watch stream ended");
    // Our own cancellations were handled above, so CANCELLED came from the
    // other side: gRPC cancels calls that reach a server while it shuts down
    // (a reconnect racing a restart). As transient as UNAVAILABLE.
    if (!absl::IsUnavailable(status) && !absl::IsCancelled(status)) return status;

    next.set_start_cursor(
        std::max(next.start_cursor(), ResumeCursorFromMessage(finished.error_message())));
    if (delivered) {
      failures = 0;
      backoff.Reset();
    }
    ++failures;
    if (options.max_reconnect_attempts > 0 && failures >= options.max_reconnect_attempts) {
      return status;
    }
    const absl::Duration delay = backoff.Next();
    if (absl::Now() + delay >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("the watch's timeout passed while reconnecting: ", status.message()));
    }
    if (options_.on_retry) {
      options_.on_retry(
          RetryEvent{"WatchDeliveries", failures, status, delay, next.start_cursor()});
    }
    if (!cancellation.SleepFor(delay)) return absl::CancelledError("the watch was cancelled");
  }
}

}  // namespace wink::webhooks
