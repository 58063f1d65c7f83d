// The RocksDB backend under the storage conformance suite: a database in a
// temp dir, written behind the backend's back with the raw Database.
#ifndef WINK_WEBHOOKS_TESTS_STORAGE_ROCKSDB_ROCKSDB_HARNESS_H_
#define WINK_WEBHOOKS_TESTS_STORAGE_ROCKSDB_ROCKSDB_HARNESS_H_

#include <memory>
#include <string>

#include "tests/storage/conformance/storage_conformance.h"

namespace wink::webhooks::storage::rocks {

class RocksDbHarness final : public testing::BackendHarness {
 public:
  explicit RocksDbHarness(std::string dir) : dir_(std::move(dir)) {}

  absl::StatusOr<std::unique_ptr<StorageBackend>> Open(const Clock& clock) override;
  absl::Status PutWebhookRecordOnly(const domain::WebhookRecord& webhook) override;
  absl::Status DeleteWebhookRecordOnly(const std::string& account,
                                       const std::string& webhook_id) override;
  absl::StatusOr<testing::StoredCounts> CountStored() override;
  absl::Status ForgetAccountUsage() override;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

testing::BackendUnderTest RocksDbUnderTest();

}  // namespace wink::webhooks::storage::rocks

#endif  // WINK_WEBHOOKS_TESTS_STORAGE_ROCKSDB_ROCKSDB_HARNESS_H_
