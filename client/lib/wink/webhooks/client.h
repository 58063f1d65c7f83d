// wink::webhooks::Client: a C++ client of the Wink Webhooks service
// (`wink.webhooks.v1.WebhookService`, `wink.webhooks.v1.DeliveryService` and
// `wink.webhooks.v1.ApplicationService`) over the generated gRPC stubs. It adds what every caller
// would otherwise write again: the bearer token on every call, a deadline per call, retries with
// backoff for calls that are safe to repeat, idempotency keys for publishes, and a watch that
// resumes after a server restart.
//
//   wink::webhooks::ClientOptions options;
//   options.address = "127.0.0.1:50051";
//   options.token = token;  // e.g. from $WEBHOOKS_TOKEN
//   auto client = wink::webhooks::Client::Create(std::move(options));
//   if (!client.ok()) return client.status();
//
//   wink::webhooks::v1::PublishEventRequest request;
//   request.set_parent("accounts/acme-hotels");
//   request.set_event_type("booking.created");
//   request.set_data_json(R"({"booking_id":"B-1"})");
//   absl::StatusOr<wink::webhooks::v1::PublishEventResponse> published =
//       (*client)->PublishEvent(request);
//
// Errors: every method returns the gRPC status of the (last) attempt as an
// absl::Status with the same code and message (grpc::StatusCode and
// absl::StatusCode share their numbering), e.g. NOT_FOUND for a missing
// webhook, UNAUTHENTICATED for a missing or unknown token, INVALID_ARGUMENT
// naming the offending field. The service's own contract for each RPC is in
// proto/wink/webhooks/v1/*.proto.
//
// Thread-safety: a Client is thread-safe; any number of threads may call it
// at once (gRPC multiplexes the calls over one channel). Create one per
// process and share it.
#ifndef WINK_WEBHOOKS_CLIENT_H_
#define WINK_WEBHOOKS_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/security/credentials.h"
#include "wink/webhooks/v1/application_service.grpc.pb.h"
#include "wink/webhooks/v1/delivery_service.grpc.pb.h"
#include "wink/webhooks/v1/webhook_service.grpc.pb.h"

namespace wink::webhooks {

// How calls that are safe to repeat are retried after UNAVAILABLE (server
// restarting, not listening yet, connection lost). No other code is retried:
// the service answers the same thing again. A call whose deadline passes
// during a retry fails with that UNAVAILABLE (its message ends "N attempts,
// then the deadline passed"), not DEADLINE_EXCEEDED: the server was not
// slow, it could not be reached.
struct RetryPolicy {
  // Attempts per call, the first one included; 1 turns retries off. Applies
  // to unary calls; see WatchOptions for the watch.
  int max_attempts = 5;
  // Delay before the first retry. Each later delay is `backoff_multiplier`
  // times the one before, up to `max_backoff`.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(2);
  double backoff_multiplier = 2.0;
  // Every delay is multiplied by a random factor in [1 - jitter, 1 + jitter]
  // (0 to 1), so that clients that lost the same server do not all come back
  // at the same instant.
  double jitter = 0.2;
};

// What ClientOptions::on_retry is told before the client waits to try again.
struct RetryEvent {
  // The RPC, e.g. "ListWebhooks" or "WatchDeliveries".
  absl::string_view method;
  // 1-based number of the attempt that failed. For a watch: how many
  // streams in a row have ended (see WatchOptions::max_reconnect_attempts).
  int attempt = 0;
  // Why it failed: UNAVAILABLE (for a watch also CANCELLED by the server).
  absl::Status error;
  // How long the client waits before the next attempt.
  absl::Duration delay;
  // WatchDeliveries only: the `start_cursor` of the next stream (0: the
  // watch has no cursor yet and starts again from "now").
  int64_t resume_cursor = 0;
};

// TLS of the channel, from PEM files: what a server started with --tls_cert
// and --tls_key (and for mutual TLS --tls_client_ca) needs.
//
//   options.tls = wink::webhooks::TlsOptions{};
//   options.tls->ca_file = "/etc/webhooks/ca.pem";       // who signed the server
//   options.tls->cert_file = "/etc/webhooks/client.pem";  // mutual TLS only
//   options.tls->key_file = "/etc/webhooks/client.key";
struct TlsOptions {
  // CA certificates (PEM, a bundle is fine) that may have signed the
  // server's certificate. Empty: the system's trusted roots (gRPC's default
  // roots; $GRPC_DEFAULT_SSL_ROOTS_FILE_PATH overrides them).
  std::string ca_file;
  // The client's certificate (chain, leaf first) and its unencrypted private
  // key, for a server that requires client certificates (mutual TLS). Both
  // or neither.
  std::string cert_file;
  std::string key_file;
  // The name the server's certificate must carry when it is not the host of
  // `address`, e.g. "webhooks.internal" when connecting to 10.0.0.5:50051.
  // Empty: the host of `address`. For tests and unusual networks; prefer an
  // address whose name is in the certificate.
  std::string server_name;
};

// Channel credentials for TLS from `tls`'s files, which are read now (a
// renewed certificate needs new credentials). `tls.server_name` is not part
// of credentials: it is a channel argument (GRPC_SSL_TARGET_NAME_OVERRIDE_ARG)
// that Client::Create sets from ClientOptions::tls; set it yourself on a
// channel of your own. Errors: INVALID_ARGUMENT naming the option, e.g.
// "tls.ca_file: cannot read \"/x.pem\"", "tls.ca_file: no PEM data in ...",
// "tls.key_file: required with tls.cert_file". Thread-safe. The key's
// contents never appear in an error.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> TlsChannelCredentials(
    const TlsOptions& tls);

struct ClientOptions {
  // Server address, "host:port", e.g. "127.0.0.1:50051" (anything
  // grpc::CreateChannel accepts, e.g. "dns:///webhooks.internal:50051").
  // Required unless `channel` is set.
  std::string address;

  // Sent as `authorization: Bearer <token>` with every call. Empty: no
  // authorization metadata (every RPC then answers UNAUTHENTICATED). Must be
  // printable ASCII without spaces.
  std::string token;

  // Deadline of every unary call, all of its attempts and backoff delays
  // included, unless CallOptions::timeout overrides it. Not applied to
  // WatchDeliveries (see WatchOptions::timeout).
  absl::Duration default_timeout = absl::Seconds(10);

  RetryPolicy retry;

  // Channel credentials. Null (and no `tls`): plaintext
  // (grpc::InsecureChannelCredentials), for a server on loopback or behind a
  // proxy or mesh that adds TLS.
  std::shared_ptr<grpc::ChannelCredentials> credentials;

  // TLS from PEM files (see TlsOptions): Create builds the credentials with
  // TlsChannelCredentials, so an unreadable file is Create's error, and
  // applies `tls->server_name`. Set `tls` or `credentials`, not both.
  std::optional<TlsOptions> tls;

  // An existing channel to use instead of creating one from `address`,
  // `credentials` and `tls` (which are then ignored), e.g. one shared with other stubs
  // or one with interceptors. A channel the client creates itself has
  // gRPC's reconnect backoff (and the resolver's re-resolution limit)
  // aligned with `retry`, so a restarted server is found again as quickly as
  // the retries look for it; a channel passed here keeps its own settings.
  std::shared_ptr<grpc::Channel> channel;

  // Called before every retry of a unary call and every reconnect of a
  // watch, e.g. to log it. Optional. Runs on the calling thread, before the
  // backoff wait: keep it short.
  std::function<void(const RetryEvent&)> on_retry;
};

// Per-call settings of a unary call.
struct CallOptions {
  // Overrides ClientOptions::default_timeout for this call (all attempts and
  // backoff delays together). A call never starts an attempt, and never
  // sleeps, past its deadline: when the next backoff delay would end after
  // it, the last error is returned. Must be positive.
  std::optional<absl::Duration> timeout;
  // Extra gRPC metadata sent with every attempt, keys in lower case, e.g. the
  // caller's W3C trace context for PublishEvent: {"traceparent", "00-…"} and
  // {"tracestate", "…"}; the server keeps it with the event and sends it on
  // every delivery (Event.traceparent).
  std::vector<std::pair<std::string, std::string>> metadata = {};
};

// Ends a running Client::WatchDeliveries from another thread, e.g. a Ctrl-C
// handler thread. Thread-safe. One object serves one watch at a time; once
// cancelled it stays cancelled (a watch started with it returns CANCELLED at
// once). Not async-signal-safe: from a signal handler, wake a thread (e.g.
// with sigwait) that calls Cancel().
class WatchCancellation {
 public:
  WatchCancellation() = default;
  WatchCancellation(const WatchCancellation&) = delete;
  WatchCancellation& operator=(const WatchCancellation&) = delete;

  // Cancels the stream in flight (if any) and any backoff wait, so the watch
  // returns promptly with CANCELLED. Idempotent.
  void Cancel();

  bool cancelled() const;

 private:
  friend class Client;

  // Registers the context of the stream about to start, so that Cancel()
  // can cancel it. False (and nothing registered) if already cancelled.
  bool Attach(grpc::ClientContext* context);
  void Detach();
  // Sleeps for `delay` unless cancelled first. False if cancelled.
  bool SleepFor(absl::Duration delay);

  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mu_) = nullptr;
};

struct WatchOptions {
  // Lets another thread end the watch. Not owned; must outlive the call.
  // Optional.
  WatchCancellation* cancellation = nullptr;

  // Ends the watch with DEADLINE_EXCEEDED after this long. Unset: the watch
  // runs until cancelled, until `on_update` returns false, or until an error
  // that is not UNAVAILABLE.
  std::optional<absl::Duration> timeout;

  // Gives up, returning the last error, after this many streams in a row
  // ended with a reconnectable error (see WatchDeliveries); a stream that
  // delivered an update starts the count again at 1. 0 (the default): never
  // give up, a watch is meant to outlive server restarts; pass an `on_retry`
  // to see that it is reconnecting.
  int max_reconnect_attempts = 0;
};

// A new random UUIDv4 in its canonical lower-case text form, e.g.
// "3f0c8e1a-5b2d-4c9e-8f3a-0d1b2c3e4f5a": what the client puts in an empty
// `idempotency_key` of a publish. Call it yourself to store the key before
// publishing (so that a retry after a crash of your own process replays
// too). Thread-safe.
std::string NewIdempotencyKey();

class Client {
 public:
  using WatchCallback = std::function<bool(const v1::WatchDeliveriesResponse&)>;

  // Creates the channel (without connecting yet: a server that is not up
  // is noticed by the first call, as UNAVAILABLE after its retries).
  // Errors: INVALID_ARGUMENT naming the option, e.g. "address: required",
  // "retry.max_attempts: must be at least 1", "tls.ca_file: cannot read
  // ..." (see TlsChannelCredentials).
  static absl::StatusOr<std::unique_ptr<Client>> Create(ClientOptions options);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // The channel in use, e.g. to make other stubs share it.
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

  // ---- WebhookService ----
  //
  // Retried on UNAVAILABLE: reads (Get*, List*), PublishEvent and
  // BatchPublishEvents. Repeating them cannot change anything twice: reads
  // change nothing, and publishes carry an idempotency key that makes the
  // server answer a repeat with the first result (`replayed`).
  //
  // Not retried (one attempt, the error returned as is): CreateWebhook,
  // UpdateWebhook, DeleteWebhook, RotateWebhookSecret, SendTestEvent,
  // RetryDelivery and RecoverDeliveries.
  // An UNAVAILABLE attempt may still have been carried out by the server
  // (the connection broke after the request arrived), and doing it again is
  // not the same: a second CreateWebhook creates a second webhook (unless the
  // caller set `request_id`), a second Rotate replaces the secret returned
  // by the first (which then was never seen), a second Delete answers
  // NOT_FOUND for a delete that worked, a second Update may overwrite a
  // concurrent change made in between, a second RetryDelivery or
  // SendTestEvent sends an event again. Whether to repeat them is the caller's decision. (A
  // CreateWebhook with a `request_id` is safe to call again by hand.)

  absl::StatusOr<v1::Webhook> CreateWebhook(const v1::CreateWebhookRequest& request,
                                            const CallOptions& options = {});
  absl::StatusOr<v1::Webhook> GetWebhook(const v1::GetWebhookRequest& request,
                                         const CallOptions& options = {});
  absl::StatusOr<v1::ListWebhooksResponse> ListWebhooks(const v1::ListWebhooksRequest& request,
                                                        const CallOptions& options = {});
  absl::StatusOr<v1::Webhook> UpdateWebhook(const v1::UpdateWebhookRequest& request,
                                            const CallOptions& options = {});
  absl::StatusOr<google::protobuf::Empty> DeleteWebhook(const v1::DeleteWebhookRequest& request,
                                                        const CallOptions& options = {});
  absl::StatusOr<v1::Webhook> RotateWebhookSecret(const v1::RotateWebhookSecretRequest& request,
                                                  const CallOptions& options = {});
  absl::StatusOr<v1::ListEventTypesResponse> ListEventTypes(
      const v1::ListEventTypesRequest& request, const CallOptions& options = {});

  // An empty `idempotency_key` is replaced by NewIdempotencyKey() before the
  // first attempt, so every retry carries the same key; the key used is in
  // the response's `event.idempotency_key`.
  absl::StatusOr<v1::PublishEventResponse> PublishEvent(const v1::PublishEventRequest& request,
                                                        const CallOptions& options = {});
  // Like PublishEvent for each entry of `requests` (each empty key gets its
  // own new key).
  absl::StatusOr<v1::BatchPublishEventsResponse> BatchPublishEvents(
      const v1::BatchPublishEventsRequest& request, const CallOptions& options = {});

  absl::StatusOr<v1::Event> GetEvent(const v1::GetEventRequest& request,
                                     const CallOptions& options = {});
  absl::StatusOr<v1::ListEventsResponse> ListEvents(const v1::ListEventsRequest& request,
                                                    const CallOptions& options = {});
  // With `wait_for_attempt`, give the call a timeout that leaves room for
  // the attempt: the server stops waiting 1 s before the call's deadline.
  absl::StatusOr<v1::SendTestEventResponse> SendTestEvent(const v1::SendTestEventRequest& request,
                                                          const CallOptions& options = {});

  // ---- DeliveryService ----

  absl::StatusOr<v1::ListDeliveriesResponse> ListDeliveries(
      const v1::ListDeliveriesRequest& request, const CallOptions& options = {});
  absl::StatusOr<v1::Delivery> GetDelivery(const v1::GetDeliveryRequest& request,
                                           const CallOptions& options = {});
  absl::StatusOr<v1::Delivery> RetryDelivery(const v1::RetryDeliveryRequest& request,
                                             const CallOptions& options = {});
  // Starts a bulk re-send and returns at once; poll GetRecovery (retried on
  // UNAVAILABLE) until it is no longer RUNNING. Not retried: a second call
  // after a lost answer is FAILED_PRECONDITION naming the running one.
  absl::StatusOr<v1::Recovery> RecoverDeliveries(const v1::RecoverDeliveriesRequest& request,
                                                 const CallOptions& options = {});
  absl::StatusOr<v1::Recovery> GetRecovery(const v1::GetRecoveryRequest& request,
                                           const CallOptions& options = {});

  // Streams the delivery updates `request` asks for (see
  // delivery_service.proto) and calls `on_update` with each, on the calling
  // thread, in cursor order. Blocks until:
  //   - `on_update` returns false: returns OK;
  //   - `options.cancellation` is cancelled: returns CANCELLED;
  //   - `options.timeout` passes: returns DEADLINE_EXCEEDED;
  //   - the server answers anything but UNAVAILABLE or CANCELLED, e.g.
  //     OUT_OF_RANGE (the cursor is older than the retained history),
  //     PERMISSION_DENIED, INVALID_ARGUMENT: returns that error;
  //   - `options.max_reconnect_attempts` is set and used up: the last error.
  // On UNAVAILABLE (server shutting down or restarting, connection lost, not
  // reachable yet), and on a CANCELLED the caller did not cause (gRPC cancels
  // calls that reach a server while it shuts down), it reconnects with the
  // retry policy's backoff (reset after every update) with `start_cursor`
  // set to the cursor of the last update
  // passed to `on_update`, so every update is seen once and in order across
  // reconnects. When the server ends a stream for shutdown it names its own
  // resume position ("reconnect with start_cursor=N"); the client resumes
  // from there when it is further on, which matters for a watch started from
  // 0 ("now") that has not seen an update yet. Without either, such a watch
  // starts from "now" again and can miss updates made while disconnected:
  // start from a cursor (e.g. PublishEvent's `watch_cursor`) when that
  // matters.
  absl::Status WatchDeliveries(const v1::WatchDeliveriesRequest& request,
                               const WatchCallback& on_update, const WatchOptions& options = {});

  // ---- ApplicationService ----
  //
  // Applications are the named holders of API keys of an account (see
  // application_service.proto). Callers: admin tokens, config tokens of the
  // account, and keys of the account's applications with SCOPE_MANAGE;
  // others get PERMISSION_DENIED.
  //
  // Retried on UNAVAILABLE: GetApplication, ListApplications and
  // RevokeApplication (revoking a revoked application is a no-op that returns
  // it, so a repeat changes nothing).
  //
  // Not retried: CreateApplication, UpdateApplication, DeleteApplication and
  // RotateApplicationKey. A repeated Create makes a second application (or
  // answers ALREADY_EXISTS for a caller-chosen id) and the key of the first
  // would never be seen; a repeated Rotate replaces the key returned by the
  // first and ends its overlap; a repeated Delete answers NOT_FOUND.
  //
  // Keys: the `api_key` of CreateApplication's and RotateApplicationKey's
  // responses is the only copy there is (the service keeps a SHA-256 hash);
  // the client keeps no copy of it. Use it as
  // ClientOptions::token of another Client.

  // The application and its key. Errors: INVALID_ARGUMENT naming the field
  // (e.g. "application_id: ..."), ALREADY_EXISTS, RESOURCE_EXHAUSTED (100
  // applications in the account).
  absl::StatusOr<v1::CreateApplicationResponse> CreateApplication(
      const v1::CreateApplicationRequest& request, const CallOptions& options = {});
  // Never carries a key. NOT_FOUND if it does not exist.
  absl::StatusOr<v1::Application> GetApplication(const v1::GetApplicationRequest& request,
                                                 const CallOptions& options = {});
  // One page, in id order; pass `next_page_token` as `page_token` for the
  // next one (empty on the last page).
  absl::StatusOr<v1::ListApplicationsResponse> ListApplications(
      const v1::ListApplicationsRequest& request, const CallOptions& options = {});
  // `display_name` and `description` only (see the request's update_mask).
  absl::StatusOr<v1::Application> UpdateApplication(const v1::UpdateApplicationRequest& request,
                                                    const CallOptions& options = {});
  // Its keys stop working at once. NOT_FOUND if it does not exist.
  absl::StatusOr<google::protobuf::Empty> DeleteApplication(
      const v1::DeleteApplicationRequest& request, const CallOptions& options = {});
  // A new key; the previous one keeps working for
  // `request.previous_key_overlap` (0 by default: it stops at once; at most
  // 7 days). FAILED_PRECONDITION for a revoked or expired application.
  absl::StatusOr<v1::RotateApplicationKeyResponse> RotateApplicationKey(
      const v1::RotateApplicationKeyRequest& request, const CallOptions& options = {});
  // Every key of the application stops working at once, for good; it stays
  // listed as APPLICATION_STATE_REVOKED until deleted.
  absl::StatusOr<v1::Application> RevokeApplication(const v1::RevokeApplicationRequest& request,
                                                    const CallOptions& options = {});

 private:
  enum class Retry { kOnUnavailable, kNever };

  Client(ClientOptions options, std::shared_ptr<grpc::Channel> channel);

  // Adds the token and, if finite, the deadline.
  void PrepareContext(grpc::ClientContext& context, absl::Time deadline) const;

  // Runs `attempt` until it succeeds or the policy says stop; the status of
  // the last attempt.
  absl::Status Invoke(absl::string_view method, Retry retry, const CallOptions& options,
                      absl::FunctionRef<grpc::Status(grpc::ClientContext*)> attempt) const;

  // A unary RPC through `Invoke`; defined in client.cc.
  template <typename Stub, typename Request, typename Response>
  absl::StatusOr<Response> Unary(absl::string_view method, Retry retry,
                                 grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Request&,
                                                           Response*),
                                 Stub& stub, const Request& request,
                                 const CallOptions& options) const;

  const ClientOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::WebhookService::Stub> webhooks_;
  const std::unique_ptr<v1::DeliveryService::Stub> deliveries_;
  const std::unique_ptr<v1::ApplicationService::Stub> applications_;
};

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_CLIENT_H_
