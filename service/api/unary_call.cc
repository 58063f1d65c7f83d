#include "service/api/unary_call.h"

#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "service/api/method_scopes.h"
#include "service/common/errors.h"
#include "service/common/log.h"
#include "service/metrics/service_metrics.h"

namespace wink::webhooks::api {
namespace {

constexpr absl::string_view kAuthorizationKey = "authorization";
constexpr absl::string_view kPublishEventMethod = "PublishEvent";
// W3C Trace Context's header names, as gRPC metadata keys.
constexpr absl::string_view kTraceparentKey = "traceparent";
constexpr absl::string_view kTracestateKey = "tracestate";

// Codes whose messages describe our internals (RocksDB text, paths), not the
// caller's request: the caller gets a generic message, the log the detail.
bool IsServerFault(absl::StatusCode code) {
  return code == absl::StatusCode::kInternal || code == absl::StatusCode::kDataLoss ||
         code == absl::StatusCode::kUnknown;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      CutErrorMessage(status.message()));
}

UnaryCall::UnaryCall(grpc::CallbackServerContext* context, absl::string_view method,
                     const auth::Authenticator& authenticator)
    : context_(context), method_(method), authenticator_(authenticator), start_(absl::Now()) {}

absl::Status UnaryCall::Authenticate() {
  if (context_->IsCancelled()) return absl::CancelledError("the caller cancelled the call");
  if (context_->deadline() < std::chrono::system_clock::now()) {
    return absl::DeadlineExceededError("the call's deadline passed before it was handled");
  }
  auto principal = authenticator_.Authenticate(MetadataValues(kAuthorizationKey));
  if (!principal.ok()) return principal.status();
  principal_ = *std::move(principal);
  return principal_->CheckScope(ScopeOfMethod(method_), method_);
}

std::vector<absl::string_view> UnaryCall::MetadataValues(absl::string_view key) const {
  std::vector<absl::string_view> values;
  const auto range = context_->client_metadata().equal_range(grpc::string_ref(key.data(), key.size()));
  for (auto it = range.first; it != range.second; ++it) {
    values.emplace_back(it->second.data(), it->second.size());
  }
  return values;
}

const std::optional<TraceContext>& UnaryCall::trace_context() {
  if (!trace_context_read_) {
    trace_context_ =
        ParseTraceContext(MetadataValues(kTraceparentKey), MetadataValues(kTracestateKey));
    trace_context_read_ = true;
  }
  return trace_context_;
}

absl::Status UnaryCall::Authorize(absl::string_view account) {
  account_ = std::string(account);
  return principal_->CheckAccess(account);
}

grpc::ServerUnaryReactor* UnaryCall::Finish(const absl::Status& status) {
  const absl::Duration latency = absl::Now() - start_;
  const double latency_ms = absl::ToDoubleMilliseconds(latency);
  const bool server_fault = IsServerFault(status.code());
  metrics::ServiceMetrics& service_metrics = metrics::Global();
  service_metrics.RecordRpc(method_, status.code());
  if (method_ == kPublishEventMethod) {
    // A successful publish finishes once it is durable (accepted and
    // replayed events are counted where the result is known, in
    // event_methods.cc); a failed one publishes nothing.
    if (status.ok()) {
      service_metrics.RecordPublishLatency(latency);
    } else {
      service_metrics.RecordPublished(metrics::PublishOutcome::kRejected);
    }
  }
  {
    LogLine line(server_fault ? LogLevel::kError : LogLevel::kInfo, "rpc");
    line.Field("method", method_)
        .Field("principal", principal_ != nullptr ? absl::string_view(principal_->name())
                                                  : absl::string_view("-"))
        .Field("account", account_.empty() ? absl::string_view("-") : absl::string_view(account_))
        .Field("code", absl::StatusCodeToString(status.code()))
        .Field("latency_ms", latency_ms);
    if (trace_context_.has_value()) {
      line.Field("trace_id", TraceIdOf(trace_context_->traceparent));
    }
    if (!status.ok()) line.Field("error", CutErrorMessage(status.message()));
  }
  grpc::ServerUnaryReactor* call_reactor = reactor();
  const absl::Status to_caller =
      server_fault ? absl::Status(status.code(), absl::StrCat(method_,
                                                              " failed inside the service; "
                                                              "the server log has the details"))
                   : status;
  call_reactor->Finish(ToGrpcStatus(to_caller));
  return call_reactor;
}

grpc::ServerUnaryReactor* UnaryCall::reactor() {
  if (reactor_ == nullptr) reactor_ = context_->DefaultReactor();
  return reactor_;
}

}  // namespace wink::webhooks::api
