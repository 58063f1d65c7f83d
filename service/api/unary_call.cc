#include "service/api/unary_call.h"

#include <chrono>

#include "absl/time/clock.h"
#include "service/common/log.h"

namespace wink::webhooks::api {
namespace {

constexpr absl::string_view kAuthorizationKey = "authorization";

absl::string_view CodeName(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return "OK";
    case absl::StatusCode::kCancelled:
      return "CANCELLED";
    case absl::StatusCode::kUnknown:
      return "UNKNOWN";
    case absl::StatusCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case absl::StatusCode::kDeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case absl::StatusCode::kNotFound:
      return "NOT_FOUND";
    case absl::StatusCode::kAlreadyExists:
      return "ALREADY_EXISTS";
    case absl::StatusCode::kPermissionDenied:
      return "PERMISSION_DENIED";
    case absl::StatusCode::kResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case absl::StatusCode::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case absl::StatusCode::kAborted:
      return "ABORTED";
    case absl::StatusCode::kOutOfRange:
      return "OUT_OF_RANGE";
    case absl::StatusCode::kUnimplemented:
      return "UNIMPLEMENTED";
    case absl::StatusCode::kInternal:
      return "INTERNAL";
    case absl::StatusCode::kUnavailable:
      return "UNAVAILABLE";
    case absl::StatusCode::kDataLoss:
      return "DATA_LOSS";
    case absl::StatusCode::kUnauthenticated:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

UnaryCall::UnaryCall(grpc::CallbackServerContext* context, absl::string_view method,
                     const auth::Authenticator& authenticator)
    : context_(context), method_(method), authenticator_(authenticator), start_(absl::Now()) {}

absl::Status UnaryCall::Authenticate() {
  if (context_->IsCancelled()) return absl::CancelledError("the caller cancelled the call");
  if (context_->deadline() < std::chrono::system_clock::now()) {
    return absl::DeadlineExceededError("the call's deadline passed before it was handled");
  }
  const auto& metadata = context_->client_metadata();
  const auto it = metadata.find(std::string(kAuthorizationKey));
  const bool present = it != metadata.end();
  const absl::string_view value =
      present ? absl::string_view(it->second.data(), it->second.size()) : absl::string_view();
  auto principal = authenticator_.Authenticate(present, value);
  if (!principal.ok()) return principal.status();
  principal_ = *principal;
  return absl::OkStatus();
}

absl::Status UnaryCall::Authorize(absl::string_view account) {
  account_ = std::string(account);
  return principal_->CheckAccess(account);
}

grpc::ServerUnaryReactor* UnaryCall::Finish(const absl::Status& status) {
  const double latency_ms = absl::ToDoubleMilliseconds(absl::Now() - start_);
  {
    LogLine line(status.ok() || status.code() != absl::StatusCode::kInternal ? LogLevel::kInfo
                                                                             : LogLevel::kError,
                 "rpc");
    line.Field("method", method_)
        .Field("principal", principal_ != nullptr ? absl::string_view(principal_->name())
                                                  : absl::string_view("-"))
        .Field("account", account_.empty() ? absl::string_view("-") : absl::string_view(account_))
        .Field("code", CodeName(status.code()))
        .Field("latency_ms", latency_ms);
    if (!status.ok()) line.Field("error", status.message());
  }
  grpc::ServerUnaryReactor* reactor = context_->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace wink::webhooks::api
