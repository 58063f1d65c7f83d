#include "service/storage/factory.h"

#include "absl/strings/str_cat.h"
#include "service/storage/postgres/backend.h"
#include "service/storage/rocksdb/backend.h"

namespace wink::webhooks::storage {

absl::StatusOr<std::unique_ptr<StorageBackend>> OpenBackend(const config::ServerConfig& config,
                                                            const Clock& clock,
                                                            StorageObserver* observer) {
  const config::v1::StorageConfig& storage = config.storage();
  switch (storage.backend_case()) {
    case config::v1::StorageConfig::kRocksdb:
    case config::v1::StorageConfig::BACKEND_NOT_SET: {
      rocks::RocksDbOptions options;
      options.data_dir = config.data_dir();
      options.sync_writes = storage.sync_mode() != config::v1::StorageConfig::SYNC_MODE_OS_BUFFERED;
      if (storage.rocksdb().memory_budget_mib() > 0) {
        options.memory_budget_bytes = static_cast<size_t>(storage.rocksdb().memory_budget_mib())
                                      << 20;
      }
      return rocks::OpenRocksDbBackend(options, clock, observer);
    }
    case config::v1::StorageConfig::kPostgres: {
      pg::PostgresOptions options;
      options.conninfo = storage.postgres().conninfo();
      options.idle_read_connections = storage.postgres().idle_read_connections();
      options.node_id = config.node_id();
      options.lease_ttl = config::ConfigDuration(storage.postgres().partition_lease_ttl());
      options.lease_drain = config::ConfigDuration(storage.postgres().partition_handover_drain());
      return pg::OpenPostgresBackend(options, clock, observer);
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("storage: unknown backend ", static_cast<int>(storage.backend_case())));
}

}  // namespace wink::webhooks::storage
