// wink.webhooks.v1.ApplicationService: API credentials of an account,
// managed through the API. Handlers validate the request, check the
// caller's access (config tokens of the account, or the account's keys with
// SCOPE_MANAGE: method_scopes.h), make keys (random, returned once, kept
// only as SHA-256) and write through the ApplicationDirectory, which keeps
// the key registry in step, so a change works on the next call. Every
// create, rotate, revoke and delete is logged as an `application_audit`
// line (who, what, the key's prefix; never the key).
#ifndef WINK_WEBHOOKS_SERVICE_API_APPLICATION_SERVICE_H_
#define WINK_WEBHOOKS_SERVICE_API_APPLICATION_SERVICE_H_

#include "absl/time/time.h"
#include "service/api/application_directory.h"
#include "service/auth/authenticator.h"
#include "service/common/clock.h"
#include "service/common/ids.h"
#include "service/storage/application_store.h"
#include "wink/webhooks/v1/application_service.grpc.pb.h"

namespace wink::webhooks::api {

// Longest overlap RotateApplicationKey accepts.
inline constexpr absl::Duration kMaxKeyRotationOverlap = absl::Hours(24 * 7);

// Prefix of every API key.
inline constexpr absl::string_view kApiKeyPrefix = "wak_";

// Every method is a raw callback method (request_codec.h explains why).
using RawApplicationService = v1::ApplicationService::WithRawCallbackMethod_CreateApplication<
    v1::ApplicationService::WithRawCallbackMethod_GetApplication<
        v1::ApplicationService::WithRawCallbackMethod_ListApplications<
            v1::ApplicationService::WithRawCallbackMethod_UpdateApplication<
                v1::ApplicationService::WithRawCallbackMethod_DeleteApplication<
                    v1::ApplicationService::WithRawCallbackMethod_RotateApplicationKey<
                        v1::ApplicationService::WithRawCallbackMethod_RevokeApplication<
                            v1::ApplicationService::Service>>>>>>>;

// Thread-safe. Every collaborator must outlive the service.
class ApplicationServiceImpl final : public RawApplicationService {
 public:
  ApplicationServiceImpl(storage::ApplicationStore& store, ApplicationDirectory& directory,
                         const auth::Authenticator& authenticator, const Clock& clock);

  grpc::ServerUnaryReactor* CreateApplication(grpc::CallbackServerContext* context,
                                              const grpc::ByteBuffer* request,
                                              grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* GetApplication(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* request,
                                           grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListApplications(grpc::CallbackServerContext* context,
                                             const grpc::ByteBuffer* request,
                                             grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* UpdateApplication(grpc::CallbackServerContext* context,
                                              const grpc::ByteBuffer* request,
                                              grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* DeleteApplication(grpc::CallbackServerContext* context,
                                              const grpc::ByteBuffer* request,
                                              grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RotateApplicationKey(grpc::CallbackServerContext* context,
                                                 const grpc::ByteBuffer* request,
                                                 grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* RevokeApplication(grpc::CallbackServerContext* context,
                                              const grpc::ByteBuffer* request,
                                              grpc::ByteBuffer* response) override;

 private:
  storage::ApplicationStore& store_;
  ApplicationDirectory& directory_;
  const auth::Authenticator& authenticator_;
  const Clock& clock_;
  IdGenerator ids_;
};

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_APPLICATION_SERVICE_H_
