// Plumbing shared by every unary RPC handler: authentication, per-account
// authorization, the caller's deadline, mapping absl::Status to grpc::Status,
// and exactly one log line per call (method, principal, account, code,
// latency, error message). The log line never contains the token, secrets or
// custom header values; handlers must keep error messages free of them too.
#ifndef WINK_WEBHOOKS_SERVICE_API_UNARY_CALL_H_
#define WINK_WEBHOOKS_SERVICE_API_UNARY_CALL_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "service/api/request_codec.h"
#include "service/auth/authenticator.h"
#include "service/common/trace_context.h"

namespace wink::webhooks::api {

// Maps an absl::Status to a grpc::Status with the same code and message
// (the two code spaces are numerically identical).
grpc::Status ToGrpcStatus(const absl::Status& status);

class UnaryCall {
 public:
  UnaryCall(grpc::CallbackServerContext* context, absl::string_view method,
            const auth::Authenticator& authenticator);

  // UNAUTHENTICATED unless the call carries a configured bearer token or a
  // working API key; PERMISSION_DENIED if a key lacks the method's scope
  // (method_scopes.h); DEADLINE_EXCEEDED / CANCELLED if the caller already
  // gave up.
  absl::Status Authenticate();

  // PERMISSION_DENIED unless the authenticated principal may act on
  // `account`. Records the account for the log line. Call after
  // Authenticate() succeeded.
  absl::Status Authorize(absl::string_view account);

  // Finishes the RPC with `status`, writes the log line, and returns the
  // reactor the handler must return to gRPC.
  grpc::ServerUnaryReactor* Finish(const absl::Status& status);

  // The call's W3C trace context (service/common/trace_context.h), read from
  // its `traceparent` / `tracestate` metadata on first use; nullopt without
  // a valid traceparent. Once asked for, the log line carries its trace id.
  const std::optional<TraceContext>& trace_context();

  // Who is calling; null until Authenticate() succeeded.
  const std::shared_ptr<const auth::Principal>& principal() const { return principal_; }

  // The call's reactor (gRPC allows asking the context for it only once).
  grpc::ServerUnaryReactor* reactor();

 private:
  // Every value of the metadata entry `key`, in the order received.
  std::vector<absl::string_view> MetadataValues(absl::string_view key) const;

  grpc::CallbackServerContext* context_;
  absl::string_view method_;
  const auth::Authenticator& authenticator_;
  std::shared_ptr<const auth::Principal> principal_;
  grpc::ServerUnaryReactor* reactor_ = nullptr;
  std::string account_;
  absl::Time start_;
  bool trace_context_read_ = false;
  std::optional<TraceContext> trace_context_;
};

// Runs one raw unary RPC: authenticates, decodes `request_bytes` into a
// `Request` (INVALID_ARGUMENT naming a field with invalid UTF-8), calls
// `handler(UnaryCall&, const Request&, Response&) -> absl::Status`, encodes
// the response, and finishes the call.
template <typename Request, typename Response, typename Handler>
grpc::ServerUnaryReactor* ServeUnary(grpc::CallbackServerContext* context, absl::string_view method,
                                     const auth::Authenticator& authenticator,
                                     const grpc::ByteBuffer* request_bytes,
                                     grpc::ByteBuffer* response_bytes, Handler&& handler) {
  UnaryCall call(context, method, authenticator);
  absl::Status status = call.Authenticate();
  Request request;
  Response response;
  if (status.ok()) status = ParseRequest(*request_bytes, request);
  if (status.ok()) status = std::forward<Handler>(handler)(call, request, response);
  if (status.ok()) status = SerializeResponse(response, *response_bytes);
  return call.Finish(status);
}

// Like ServeUnary, for handlers that finish later on another thread (e.g.
// once a group commit is durable) instead of blocking a gRPC thread:
// `handler(UnaryCall&, const Request&, Response&, Finish finish)` returns an
// error to finish at once, or OK after arranging for `finish(status)` to be
// called exactly once, later, from any thread; `Response` must be filled in
// before that. The call state lives until `finish` runs.
using FinishFn = std::function<void(absl::Status)>;

template <typename Request, typename Response, typename Handler>
grpc::ServerUnaryReactor* ServeUnaryAsync(grpc::CallbackServerContext* context,
                                          absl::string_view method,
                                          const auth::Authenticator& authenticator,
                                          const grpc::ByteBuffer* request_bytes,
                                          grpc::ByteBuffer* response_bytes, Handler&& handler) {
  struct State {
    State(grpc::CallbackServerContext* context, absl::string_view method,
          const auth::Authenticator& authenticator)
        : call(context, method, authenticator) {}
    UnaryCall call;
    Request request;
    Response response;
  };
  auto* state = new State(context, method, authenticator);
  grpc::ServerUnaryReactor* reactor = state->call.reactor();
  FinishFn finish = [state, response_bytes](absl::Status status) {
    if (status.ok()) status = SerializeResponse(state->response, *response_bytes);
    state->call.Finish(status);
    delete state;
  };
  absl::Status status = state->call.Authenticate();
  if (status.ok()) status = ParseRequest(*request_bytes, state->request);
  if (status.ok()) {
    status = std::forward<Handler>(handler)(state->call, state->request, state->response, finish);
  }
  if (!status.ok()) finish(status);
  return reactor;
}

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_UNARY_CALL_H_
