// The PostgreSQL backend under the storage conformance suite: one real
// PostgreSQL server per test binary (started on first use, in a temp dir),
// and a schema of its own per harness, written behind the backend's back
// with plain SQL.
#ifndef WINK_WEBHOOKS_TESTS_STORAGE_POSTGRES_POSTGRES_HARNESS_H_
#define WINK_WEBHOOKS_TESTS_STORAGE_POSTGRES_POSTGRES_HARNESS_H_

#include <memory>
#include <string>

#include "tests/storage/conformance/storage_conformance.h"

namespace wink::webhooks::storage::pg {

class PostgresHarness final : public testing::BackendHarness {
 public:
  // A fresh schema on the shared server; fails the test if it cannot.
  PostgresHarness();

  absl::StatusOr<std::unique_ptr<StorageBackend>> Open(const Clock& clock) override;
  absl::Status PutWebhookRecordOnly(const domain::WebhookRecord& webhook) override;
  absl::Status DeleteWebhookRecordOnly(const std::string& account,
                                       const std::string& webhook_id) override;
  absl::StatusOr<testing::StoredCounts> CountStored() override;
  absl::Status ForgetAccountUsage() override;

  // The libpq connection string of this harness's schema.
  const std::string& conninfo() const { return conninfo_; }

 private:
  std::string schema_;
  std::string conninfo_;
};

testing::BackendUnderTest PostgresUnderTest();

}  // namespace wink::webhooks::storage::pg

#endif  // WINK_WEBHOOKS_TESTS_STORAGE_POSTGRES_POSTGRES_HARNESS_H_
