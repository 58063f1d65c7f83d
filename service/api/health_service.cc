#include "service/api/health_service.h"

#include <atomic>
#include <utility>

namespace wink::webhooks::api {
namespace {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

HealthCheckResponse::ServingStatus StatusOf(bool serving) {
  return serving ? HealthCheckResponse::SERVING : HealthCheckResponse::NOT_SERVING;
}

}  // namespace

// One Watch stream. Writes the current status, then each change; at most
// one write is in flight, and only the latest pending status is kept.
class HealthService::Watcher final : public grpc::ServerWriteReactor<HealthCheckResponse> {
 public:
  Watcher(HealthService* owner, bool known, HealthCheckResponse::ServingStatus initial,
          bool end_stream)
      : owner_(owner), known_(known) {
    absl::MutexLock lock(&mu_);
    end_after_write_ = end_stream;
    Send(initial);
  }

  // Keeps the watcher alive while the owner talks to it outside its lock;
  // gRPC holds the first reference until OnDone.
  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  void Unref() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  // Whether the watched service is one the server hosts.
  bool known() const { return known_; }

  // Ends the stream once the write in flight (if any) is done, without
  // sending another status.
  void End() {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (writing_) {
      end_after_write_ = true;
    } else {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
    }
  }

  // Called by the owner, without its lock, when the status changes.
  void Update(HealthCheckResponse::ServingStatus status, bool end_stream) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    end_after_write_ = end_after_write_ || end_stream;
    if (writing_) {
      pending_ = status;
      has_pending_ = true;
    } else {
      Send(status);
    }
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
    } else if (has_pending_) {
      has_pending_ = false;
      Send(pending_);
    } else if (end_after_write_) {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server shutting down"));
    }
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    owner_->Remove(this);
    Unref();
  }

 private:
  void Send(HealthCheckResponse::ServingStatus status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    response_.set_status(status);
    writing_ = true;
    StartWrite(&response_);
  }

  void FinishLocked(const grpc::Status& status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  HealthService* const owner_;
  const bool known_;
  std::atomic<int> refs_{1};
  absl::Mutex mu_;
  HealthCheckResponse response_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool has_pending_ ABSL_GUARDED_BY(mu_) = false;
  HealthCheckResponse::ServingStatus pending_ ABSL_GUARDED_BY(mu_) = HealthCheckResponse::UNKNOWN;
  bool end_after_write_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

HealthService::HealthService(std::vector<std::string> service_names)
    : services_([&] {
        absl::flat_hash_set<std::string> names(service_names.begin(), service_names.end());
        names.insert("");  // the server as a whole
        return names;
      }()) {}

HealthService::~HealthService() = default;

grpc::ServerUnaryReactor* HealthService::Check(grpc::CallbackServerContext* context,
                                               const HealthCheckRequest* request,
                                               HealthCheckResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (!Knows(request->service())) {
    reactor->Finish(grpc::Status(grpc::StatusCode::NOT_FOUND,
                                 "unknown service \"" + request->service() + "\""));
    return reactor;
  }
  {
    absl::MutexLock lock(&mu_);
    response->set_status(StatusOf(serving_));
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerWriteReactor<HealthCheckResponse>* HealthService::Watch(
    grpc::CallbackServerContext* context, const HealthCheckRequest* request) {
  absl::MutexLock lock(&mu_);
  // Per the health protocol, an unknown service is reported, not refused:
  // it may be registered later.
  const bool known = Knows(request->service());
  auto* watcher =
      new Watcher(this, known, known ? StatusOf(serving_) : HealthCheckResponse::SERVICE_UNKNOWN,
                  /*end_stream=*/!serving_);
  watchers_.insert(watcher);
  return watcher;
}

void HealthService::SetServing(bool serving) {
  std::vector<Watcher*> watchers;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_ || serving_ == serving) return;
    serving_ = serving;
    for (Watcher* watcher : watchers_) {
      if (!watcher->known()) continue;
      watcher->Ref();
      watchers.push_back(watcher);
    }
  }
  // Outside the lock, as in Shutdown.
  for (Watcher* watcher : watchers) {
    watcher->Update(StatusOf(serving), /*end_stream=*/false);
    watcher->Unref();
  }
}

void HealthService::Shutdown() {
  std::vector<Watcher*> watchers;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    serving_ = false;
    for (Watcher* watcher : watchers_) {
      watcher->Ref();
      watchers.push_back(watcher);
    }
  }
  // Outside the lock: ending a stream may run OnDone, which takes it.
  for (Watcher* watcher : watchers) {
    // A watcher of an unknown service saw SERVICE_UNKNOWN; that has not
    // changed, so its stream just ends.
    if (watcher->known()) {
      watcher->Update(HealthCheckResponse::NOT_SERVING, /*end_stream=*/true);
    } else {
      watcher->End();
    }
    watcher->Unref();
  }
}

void HealthService::Remove(Watcher* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watcher);
}

}  // namespace wink::webhooks::api
