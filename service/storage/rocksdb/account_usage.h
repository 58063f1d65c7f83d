// Account usage (event_log.h AccountUsage) in the RocksDB backend: one
// AccountUsageRecord per account in the `default` column family, changed
// in the same write as the events it counts (publish, purge). Internal to
// the RocksDB backend.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_ACCOUNT_USAGE_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_ACCOUNT_USAGE_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/storage/event_log.h"
#include "service/storage/rocksdb/database.h"
#include "service/storage/rocksdb/writer.h"

namespace wink::webhooks::storage::rocks {

// The usage as the operation sees it (with the writes staged before it).
absl::StatusOr<AccountUsage> ReadUsageIn(WriteTxn& txn, absl::string_view account);
// The usage as of the last durable write.
absl::StatusOr<AccountUsage> ReadUsage(Database& db, absl::string_view account);

void StageUsage(WriteTxn& txn, absl::string_view account, const AccountUsage& usage);

// When the account's oldest event was published (event ids begin with
// their time); nullopt when it has none.
absl::StatusOr<std::optional<absl::Time>> OldestEventTimeIn(WriteTxn& txn,
                                                            absl::string_view account);

// Counts every account's usage from its events, once per database: a
// database written before usage was kept (schema version 1) gets its
// counts at the first start of a binary that keeps them. Must run before
// any write (the backend calls it on open).
absl::Status CountUsageIfNotCounted(Database& db);

}  // namespace wink::webhooks::storage::rocks

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_ACCOUNT_USAGE_H_
