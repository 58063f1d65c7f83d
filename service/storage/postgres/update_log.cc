// PostgresUpdateLog: table `updates`, numbered at commit (writer.h).
#include "service/common/status_macros.h"
#include "service/storage/postgres/stores.h"
#include "service/storage/postgres/update_feed.h"

namespace wink::webhooks::storage::pg {
namespace {

constexpr Sql kOldestUpdate{"oldest_update", "SELECT min(sequence) FROM updates"};

}  // namespace

absl::StatusOr<std::vector<DeliveryUpdate>> PostgresUpdateLog::ReadUpdates(uint64_t after,
                                                                           int limit) {
  WINK_ASSIGN_OR_RETURN(const Rows rows,
                        context_.readers.Query(ReadUpdatesStatement(after, limit)));
  return DecodeUpdates(rows);
}

absl::StatusOr<uint64_t> PostgresUpdateLog::OldestSequence() {
  WINK_ASSIGN_OR_RETURN(const Rows rows, context_.readers.Query(Statement{kOldestUpdate, {}}));
  if (rows.empty() || rows.IsNull(0, 0)) return 0;
  return static_cast<uint64_t>(rows.Int(0, 0));
}

uint64_t PostgresUpdateLog::LastSequence() { return context_.feed.last_sequence(); }

void PostgresUpdateLog::AddListener(UpdateListener* listener) { context_.listeners.Add(listener); }

void PostgresUpdateLog::RemoveListener(UpdateListener* listener) {
  context_.listeners.Remove(listener);
}

}  // namespace wink::webhooks::storage::pg
