// Opens the storage backend the config asks for: `storage { rocksdb { } }`
// (the default), the embedded database in `data_dir`, or
// `storage { postgres { conninfo: "..." } }`, a PostgreSQL database that
// several nodes may share.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_FACTORY_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_FACTORY_H_

#include <memory>

#include "absl/status/statusor.h"
#include "service/common/clock.h"
#include "service/config/server_config.h"
#include "service/storage/backend.h"
#include "service/storage/observer.h"

namespace wink::webhooks::storage {

// `config` has its defaults applied (config::LoadServerConfig). `clock`
// (ids, record times) and `observer` (may be null) must outlive the backend.
// Errors: those of the backend's open, e.g. FAILED_PRECONDITION when another
// process uses the RocksDB directory or its data is from a newer version,
// UNAVAILABLE when PostgreSQL cannot be reached.
absl::StatusOr<std::unique_ptr<StorageBackend>> OpenBackend(const config::ServerConfig& config,
                                                            const Clock& clock,
                                                            StorageObserver* observer);

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_FACTORY_H_
