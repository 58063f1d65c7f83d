#include "service/api/application_service.h"

#include <openssl/rand.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "service/api/page_token.h"
#include "service/api/resource_mapping.h"
#include "service/api/unary_call.h"
#include "service/api/webhook_validation.h"
#include "service/common/errors.h"
#include "service/common/log.h"
#include "service/common/resource_names.h"
#include "service/common/sha256.h"
#include "service/common/status_macros.h"

namespace wink::webhooks::api {
namespace {

using ::wink::webhooks::internal::v1::ApplicationKeyRecord;
using ::wink::webhooks::storage::ApplicationRecord;

constexpr absl::string_view kApplicationIdPrefix = "app_";
constexpr size_t kApiKeyRandomBytes = 32;
// `wak_` and 8 characters: enough to tell keys apart, far from enough to
// use one.
constexpr size_t kKeyPrefixLength = 12;
constexpr size_t kMaxApplicationIdLength = 64;

struct ApplicationName {
  std::string account;
  std::string id;
};

// A caller-chosen id: [a-z][a-z0-9-]{0,63}.
bool IsValidChosenId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxApplicationIdLength || !absl::ascii_islower(id[0])) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-';
  });
}

bool IsValidApplicationId(absl::string_view id) {
  return IsValidChosenId(id) || IsValidId(id, kApplicationIdPrefix);
}

absl::StatusOr<ApplicationName> ParseApplicationName(absl::string_view name,
                                                     absl::string_view field) {
  constexpr absl::string_view kCollection = "/applications/";
  const size_t at = name.find(kCollection);
  if (at == absl::string_view::npos) {
    return InvalidField(field, "must be accounts/{account}/applications/{application}");
  }
  WINK_ASSIGN_OR_RETURN(std::string account, ParseAccountName(name.substr(0, at), field));
  const absl::string_view id = name.substr(at + kCollection.size());
  if (!IsValidApplicationId(id)) {
    return InvalidField(field, "must be accounts/{account}/applications/{application}");
  }
  return ApplicationName{std::move(account), std::string(id)};
}

std::string ApplicationResourceName(absl::string_view account, absl::string_view id) {
  return absl::StrCat("accounts/", account, "/applications/", id);
}

// A new key and its record.
struct NewKey {
  std::string key;
  ApplicationKeyRecord record;
};

absl::StatusOr<NewKey> MakeKey(absl::Time now) {
  unsigned char random[kApiKeyRandomBytes];
  if (RAND_bytes(random, sizeof(random)) != 1) {
    return absl::InternalError("the random number generator failed");
  }
  NewKey made;
  made.key = absl::StrCat(
      kApiKeyPrefix,
      absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<char*>(random), sizeof(random))));
  OPENSSL_cleanse(random, sizeof(random));
  made.record.set_sha256(Sha256Bytes(made.key));
  made.record.set_prefix(made.key.substr(0, kKeyPrefixLength));
  made.record.set_create_time_us(absl::ToUnixMicros(now));
  return made;
}

v1::ApplicationState StateOf(const ApplicationRecord& record, absl::Time now) {
  if (record.revoke_time_us() != 0) return v1::APPLICATION_STATE_REVOKED;
  if (record.expire_time_us() != 0 && absl::FromUnixMicros(record.expire_time_us()) <= now) {
    return v1::APPLICATION_STATE_EXPIRED;
  }
  return v1::APPLICATION_STATE_ACTIVE;
}

void ToApi(const ApplicationRecord& record, absl::Time now, v1::Application* out) {
  out->set_name(ApplicationResourceName(record.account(), record.id()));
  out->set_display_name(record.display_name());
  out->set_description(record.description());
  for (const int scope : record.scopes()) out->add_scopes(static_cast<v1::Scope>(scope));
  if (record.expire_time_us() != 0) *out->mutable_expire_time() = ToTimestamp(record.expire_time_us());
  out->set_state(StateOf(record, now));
  if (!record.keys().empty()) out->set_key_prefix(record.keys(0).prefix());
  if (record.keys_size() > 1 && absl::FromUnixMicros(record.keys(1).expire_time_us()) > now) {
    *out->mutable_previous_key_expire_time() = ToTimestamp(record.keys(1).expire_time_us());
  }
  *out->mutable_create_time() = ToTimestamp(record.create_time_us());
  *out->mutable_update_time() = ToTimestamp(record.update_time_us());
  if (record.last_used_time_us() != 0) {
    *out->mutable_last_used_time() = ToTimestamp(record.last_used_time_us());
  }
  if (record.revoke_time_us() != 0) *out->mutable_revoke_time() = ToTimestamp(record.revoke_time_us());
}

absl::StatusOr<absl::Time> TimeFromApi(const google::protobuf::Timestamp& timestamp,
                                       absl::string_view field) {
  // The range of google.protobuf.Timestamp: years 1 to 9999.
  if (timestamp.seconds() < -62135596800 || timestamp.seconds() > 253402300799 ||
      timestamp.nanos() < 0 || timestamp.nanos() > 999999999) {
    return InvalidField(field, "is not a valid timestamp");
  }
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

// Scopes as stored: valid, unique, sorted.
absl::StatusOr<std::vector<int>> NormalizeScopes(
    const google::protobuf::RepeatedField<int>& scopes) {
  std::vector<int> normalized;
  for (int i = 0; i < scopes.size(); ++i) {
    if (scopes[i] != v1::SCOPE_READ && scopes[i] != v1::SCOPE_PUBLISH &&
        scopes[i] != v1::SCOPE_MANAGE) {
      return InvalidField(absl::StrCat("application.scopes[", i, "]"),
                          "must be SCOPE_READ, SCOPE_PUBLISH or SCOPE_MANAGE");
    }
    normalized.push_back(scopes[i]);
  }
  std::sort(normalized.begin(), normalized.end());
  normalized.erase(std::unique(normalized.begin(), normalized.end()), normalized.end());
  return normalized;
}

void Audit(const UnaryCall& call, absl::string_view action, const ApplicationRecord& record) {
  LogLine line(LogLevel::kInfo, "application_audit");
  line.Field("action", action)
      .Field("by", call.principal() != nullptr ? absl::string_view(call.principal()->name())
                                               : absl::string_view("-"))
      .Field("application", ApplicationResourceName(record.account(), record.id()));
  if (!record.keys().empty()) line.Field("key_prefix", record.keys(0).prefix());
}

absl::Status RefuseIfEnded(const ApplicationRecord& record, absl::Time now) {
  switch (StateOf(record, now)) {
    case v1::APPLICATION_STATE_REVOKED:
      return absl::FailedPreconditionError(
          absl::StrCat("application ", record.id(), " is revoked; create another"));
    case v1::APPLICATION_STATE_EXPIRED:
      return absl::FailedPreconditionError(
          absl::StrCat("application ", record.id(), " has expired; create another"));
    default:
      return absl::OkStatus();
  }
}

}  // namespace

ApplicationServiceImpl::ApplicationServiceImpl(storage::ApplicationStore& store,
                                               ApplicationDirectory& directory,
                                               const auth::Authenticator& authenticator,
                                               const Clock& clock)
    : store_(store),
      directory_(directory),
      authenticator_(authenticator),
      clock_(clock),
      ids_(clock) {}

grpc::ServerUnaryReactor* ApplicationServiceImpl::CreateApplication(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::CreateApplicationRequest, v1::CreateApplicationResponse>(
      context, "CreateApplication", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::CreateApplicationRequest& request,
          v1::CreateApplicationResponse& response) {
        WINK_ASSIGN_OR_RETURN(const std::string account,
                              ParseAccountName(request.parent(), "parent"));
        WINK_RETURN_IF_ERROR(call.Authorize(account));
        if (!request.has_application()) return InvalidField("application", "required");
        const v1::Application& application = request.application();
        WINK_RETURN_IF_ERROR(
            ValidateDisplayName(application.display_name(), "application.display_name"));
        WINK_RETURN_IF_ERROR(
            ValidateDescription(application.description(), "application.description"));
        WINK_ASSIGN_OR_RETURN(const std::vector<int> scopes,
                              NormalizeScopes(application.scopes()));
        const absl::Time now = clock_.Now();
        ApplicationRecord record;
        if (application.has_expire_time()) {
          WINK_ASSIGN_OR_RETURN(const absl::Time expire,
                                TimeFromApi(application.expire_time(), "application.expire_time"));
          if (expire <= now) return InvalidField("application.expire_time", "must be in the future");
          record.set_expire_time_us(absl::ToUnixMicros(expire));
        }
        if (!request.application_id().empty() && !IsValidChosenId(request.application_id())) {
          return InvalidField("application_id",
                              "must be 1-64 characters of [a-z0-9-], starting with a letter");
        }
        record.set_account(account);
        record.set_id(request.application_id().empty() ? ids_.Next(kApplicationIdPrefix)
                                                       : request.application_id());
        record.set_display_name(application.display_name());
        record.set_description(application.description());
        for (const int scope : scopes) record.add_scopes(scope);
        record.set_create_time_us(absl::ToUnixMicros(now));
        record.set_update_time_us(absl::ToUnixMicros(now));
        WINK_ASSIGN_OR_RETURN(NewKey key, MakeKey(now));
        *record.add_keys() = key.record;
        WINK_RETURN_IF_ERROR(directory_.Create(record));
        Audit(call, "create", record);
        ToApi(record, now, response.mutable_application());
        response.set_api_key(std::move(key.key));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ApplicationServiceImpl::GetApplication(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::GetApplicationRequest, v1::Application>(
      context, "GetApplication", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::GetApplicationRequest& request, v1::Application& response) {
        WINK_ASSIGN_OR_RETURN(const ApplicationName name,
                              ParseApplicationName(request.name(), "name"));
        WINK_RETURN_IF_ERROR(call.Authorize(name.account));
        WINK_ASSIGN_OR_RETURN(const ApplicationRecord record, store_.Get(name.account, name.id));
        ToApi(record, clock_.Now(), &response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ApplicationServiceImpl::ListApplications(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::ListApplicationsRequest, v1::ListApplicationsResponse>(
      context, "ListApplications", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::ListApplicationsRequest& request,
          v1::ListApplicationsResponse& response) {
        WINK_ASSIGN_OR_RETURN(const std::string account,
                              ParseAccountName(request.parent(), "parent"));
        WINK_RETURN_IF_ERROR(call.Authorize(account));
        WINK_ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(request.page_size()));
        WINK_ASSIGN_OR_RETURN(const std::string after_id,
                              DecodePageToken(request.page_token(), request.parent()));
        if (!after_id.empty() && !IsValidApplicationId(after_id)) {
          return absl::InvalidArgumentError("page_token: not a token returned by this method");
        }
        WINK_ASSIGN_OR_RETURN(const storage::ApplicationPage page,
                              store_.List(account, after_id, page_size));
        const absl::Time now = clock_.Now();
        for (const ApplicationRecord& record : page.applications) {
          ToApi(record, now, response.add_applications());
        }
        if (page.has_more && !page.applications.empty()) {
          response.set_next_page_token(
              EncodePageToken(request.parent(), page.applications.back().id()));
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ApplicationServiceImpl::UpdateApplication(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::UpdateApplicationRequest, v1::Application>(
      context, "UpdateApplication", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::UpdateApplicationRequest& request,
          v1::Application& response) {
        if (!request.has_application()) return InvalidField("application", "required");
        const v1::Application& changes = request.application();
        WINK_ASSIGN_OR_RETURN(const ApplicationName name,
                              ParseApplicationName(changes.name(), "application.name"));
        WINK_RETURN_IF_ERROR(call.Authorize(name.account));
        bool display_name = false;
        bool description = false;
        if (request.update_mask().paths().empty()) {
          display_name = !changes.display_name().empty();
          description = !changes.description().empty();
        }
        for (const std::string& path : request.update_mask().paths()) {
          if (path == "display_name") {
            display_name = true;
          } else if (path == "description") {
            description = true;
          } else {
            return InvalidField("update_mask", absl::StrCat("\"", path,
                                                            "\" cannot be updated; only "
                                                            "display_name and description can"));
          }
        }
        if (display_name) {
          WINK_RETURN_IF_ERROR(
              ValidateDisplayName(changes.display_name(), "application.display_name"));
        }
        if (description) {
          WINK_RETURN_IF_ERROR(
              ValidateDescription(changes.description(), "application.description"));
        }
        const absl::Time now = clock_.Now();
        WINK_ASSIGN_OR_RETURN(
            const ApplicationRecord updated,
            directory_.Update(name.account, name.id, [&](ApplicationRecord& record) {
              if (display_name) record.set_display_name(changes.display_name());
              if (description) record.set_description(changes.description());
              if (display_name || description) record.set_update_time_us(absl::ToUnixMicros(now));
              return absl::OkStatus();
            }));
        ToApi(updated, now, &response);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ApplicationServiceImpl::DeleteApplication(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::DeleteApplicationRequest, google::protobuf::Empty>(
      context, "DeleteApplication", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::DeleteApplicationRequest& request,
          google::protobuf::Empty&) {
        WINK_ASSIGN_OR_RETURN(const ApplicationName name,
                              ParseApplicationName(request.name(), "name"));
        WINK_RETURN_IF_ERROR(call.Authorize(name.account));
        WINK_RETURN_IF_ERROR(directory_.Delete(name.account, name.id));
        ApplicationRecord deleted;
        deleted.set_account(name.account);
        deleted.set_id(name.id);
        Audit(call, "delete", deleted);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ApplicationServiceImpl::RotateApplicationKey(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::RotateApplicationKeyRequest, v1::RotateApplicationKeyResponse>(
      context, "RotateApplicationKey", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::RotateApplicationKeyRequest& request,
          v1::RotateApplicationKeyResponse& response) {
        WINK_ASSIGN_OR_RETURN(const ApplicationName name,
                              ParseApplicationName(request.name(), "name"));
        WINK_RETURN_IF_ERROR(call.Authorize(name.account));
        const auto& overlap_api = request.previous_key_overlap();
        if (overlap_api.seconds() < 0 || overlap_api.nanos() < 0 ||
            overlap_api.nanos() > 999999999) {
          return InvalidField("previous_key_overlap", "must not be negative");
        }
        const absl::Duration overlap =
            absl::Seconds(overlap_api.seconds()) + absl::Nanoseconds(overlap_api.nanos());
        if (overlap > kMaxKeyRotationOverlap) {
          return InvalidField("previous_key_overlap", "must be at most 7 days (604800s)");
        }
        const absl::Time now = clock_.Now();
        WINK_ASSIGN_OR_RETURN(NewKey key, MakeKey(now));
        WINK_ASSIGN_OR_RETURN(
            const ApplicationRecord rotated,
            directory_.Update(name.account, name.id, [&](ApplicationRecord& record) {
              WINK_RETURN_IF_ERROR(RefuseIfEnded(record, now));
              ApplicationKeyRecord previous = record.keys().empty() ? ApplicationKeyRecord()
                                                                    : record.keys(0);
              record.clear_keys();
              *record.add_keys() = key.record;
              // The older previous key, if any, ends now (it is dropped).
              if (overlap > absl::ZeroDuration() && !previous.sha256().empty()) {
                previous.set_expire_time_us(absl::ToUnixMicros(now + overlap));
                *record.add_keys() = previous;
              }
              record.set_update_time_us(absl::ToUnixMicros(now));
              return absl::OkStatus();
            }));
        Audit(call, "rotate", rotated);
        ToApi(rotated, now, response.mutable_application());
        response.set_api_key(std::move(key.key));
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ApplicationServiceImpl::RevokeApplication(
    grpc::CallbackServerContext* context, const grpc::ByteBuffer* request_bytes,
    grpc::ByteBuffer* response_bytes) {
  return ServeUnary<v1::RevokeApplicationRequest, v1::Application>(
      context, "RevokeApplication", authenticator_, request_bytes, response_bytes,
      [&](UnaryCall& call, const v1::RevokeApplicationRequest& request,
          v1::Application& response) {
        WINK_ASSIGN_OR_RETURN(const ApplicationName name,
                              ParseApplicationName(request.name(), "name"));
        WINK_RETURN_IF_ERROR(call.Authorize(name.account));
        const absl::Time now = clock_.Now();
        bool revoked_now = false;
        WINK_ASSIGN_OR_RETURN(
            const ApplicationRecord revoked,
            directory_.Update(name.account, name.id, [&](ApplicationRecord& record) {
              if (record.revoke_time_us() != 0) return absl::OkStatus();
              record.set_revoke_time_us(absl::ToUnixMicros(now));
              record.set_update_time_us(absl::ToUnixMicros(now));
              revoked_now = true;
              return absl::OkStatus();
            }));
        if (revoked_now) Audit(call, "revoke", revoked);
        ToApi(revoked, now, &response);
        return absl::OkStatus();
      });
}

}  // namespace wink::webhooks::api
