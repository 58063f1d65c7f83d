// What the PostgreSQL backend's stores share. Internal to the PostgreSQL
// backend.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_STORE_CONTEXT_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_STORE_CONTEXT_H_

#include <cstdint>

#include "service/common/clock.h"
#include "service/common/ids.h"
#include "service/storage/listeners.h"
#include "service/storage/observer.h"
#include "service/storage/postgres/connection.h"
#include "service/storage/postgres/partition_leases.h"
#include "service/storage/postgres/update_feed.h"
#include "service/storage/postgres/writer.h"

namespace wink::webhooks::storage::pg {

// Everything here outlives the stores (the backend owns it).
struct StoreContext {
  // Every mutation is an operation of this writer (writer.h).
  Writer& writer;
  // Reads outside the writer.
  ConnectionPool& readers;
  IdGenerator& ids;
  // Record times and the time rules are applied at.
  const Clock& clock;
  // Told about committed updates and deleted webhooks.
  UpdateListeners& listeners;
  // Tells `listeners` every node's updates, in order.
  UpdateFeed& feed;
  // Which deliveries this node sends; fences the engine's writes.
  PartitionLeases& leases;
  // May be null.
  StorageObserver* observer;
};

}  // namespace wink::webhooks::storage::pg

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_POSTGRES_STORE_CONTEXT_H_
