// grpc.health.v1.Health, compiled from Debian's grpc-proto so reflection
// clients (grpcurl, buf curl) can call it by name; gRPC's built-in health
// service is not visible through reflection.
//
// Reports SERVING for "" (the whole server) and each registered service name
// until Shutdown(), then NOT_SERVING; unknown names are NOT_FOUND. Watch
// streams the current status and every change, until the caller cancels or
// the server shuts down. Thread-safe.
#ifndef WINK_WEBHOOKS_SERVICE_API_HEALTH_SERVICE_H_
#define WINK_WEBHOOKS_SERVICE_API_HEALTH_SERVICE_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace wink::webhooks::api {

class HealthService final : public grpc::health::v1::Health::CallbackService {
 public:
  // `service_names` are the fully-qualified services the server hosts.
  explicit HealthService(std::vector<std::string> service_names);
  ~HealthService() override;

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::health::v1::HealthCheckRequest* request,
                                  grpc::health::v1::HealthCheckResponse* response) override;
  grpc::ServerWriteReactor<grpc::health::v1::HealthCheckResponse>* Watch(
      grpc::CallbackServerContext* context,
      const grpc::health::v1::HealthCheckRequest* request) override;

  // Reports every service as SERVING or NOT_SERVING (storage cannot commit
  // writes) to Check and to the watchers. Ignored after Shutdown.
  void SetServing(bool serving);

  // Switches every service to NOT_SERVING, tells the watchers, and ends
  // their streams so that server shutdown does not wait on them.
  void Shutdown();

 private:
  class Watcher;
  friend class Watcher;

  bool Knows(const std::string& service) const { return services_.contains(service); }
  void Remove(Watcher* watcher);

  const absl::flat_hash_set<std::string> services_;
  absl::Mutex mu_;
  bool serving_ ABSL_GUARDED_BY(mu_) = true;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<Watcher*> watchers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_HEALTH_SERVICE_H_
