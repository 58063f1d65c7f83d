// A disk that stops taking writes is visible from outside: the health
// service says NOT_SERVING and wink_webhooks_storage_writable drops to 0,
// and both come back once storage commits again. Real parts: RocksDB on a
// file system that can act as a full disk, the server's StorageMetrics,
// and the health service behind a real gRPC server.
#include <chrono>
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/api/health_service.h"
#include "service/metrics/service_metrics.h"
#include "service/server/storage_metrics.h"
#include "service/storage/rocksdb/backend.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/full_disk.h"
#include "tests/fakes/temp_dir.h"
#include "tests/storage/publish_and_wait.h"

namespace wink::webhooks::testing {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

class StorageHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    health_ = std::make_unique<api::HealthService>(
        std::vector<std::string>{"wink.webhooks.v1.WebhookService"});
    storage_metrics_.SetWritabilityListener(
        [this](bool writable) { health_->SetServing(writable); });
    storage::rocks::RocksDbOptions options;
    options.data_dir = dir_.Child("data");
    options.sync_writes = false;
    options.env = full_disk_.env();
    auto backend = storage::rocks::OpenRocksDbBackend(options, clock_, &storage_metrics_);
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);

    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(health_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = Health::NewStub(
        grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    health_->Shutdown();
    server_->Shutdown();
    backend_->StopWrites();
  }

  HealthCheckResponse::ServingStatus Check() {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    HealthCheckRequest request;
    request.set_service("wink.webhooks.v1.WebhookService");
    HealthCheckResponse response;
    const grpc::Status status = stub_->Check(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.status();
  }

  absl::Status Publish() {
    return PublishAndWait(backend_->events(), BookingCreated("acme")).status();
  }

  TempDir dir_;
  FullDisk full_disk_;
  FakeClock clock_;
  std::unique_ptr<api::HealthService> health_;
  StorageMetrics storage_metrics_;
  std::unique_ptr<storage::StorageBackend> backend_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Health::Stub> stub_;
};

TEST_F(StorageHealthTest, AFullDiskIsNotServingUntilStorageCommitsAgain) {
  ASSERT_TRUE(Publish().ok());
  EXPECT_EQ(Check(), HealthCheckResponse::SERVING);
  EXPECT_THAT(metrics::RenderGlobal(), HasSubstr("\nwink_webhooks_storage_writable 1\n"));

  full_disk_.SetFull(true);
  EXPECT_EQ(Publish().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Check(), HealthCheckResponse::NOT_SERVING);
  EXPECT_THAT(metrics::RenderGlobal(), HasSubstr("\nwink_webhooks_storage_writable 0\n"));

  full_disk_.SetFull(false);
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!backend_->deliveries().ProbeWritable().ok() && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(Check(), HealthCheckResponse::SERVING);
  EXPECT_THAT(metrics::RenderGlobal(), HasSubstr("\nwink_webhooks_storage_writable 1\n"));
  EXPECT_TRUE(Publish().ok());
}

}  // namespace
}  // namespace wink::webhooks::testing
