// PostgresUpdateLog: table `updates`, numbered at commit (writer.h).
#include "service/common/status_macros.h"
#include "service/storage/postgres/stores.h"
#include "service/storage/records.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::storage::pg {
namespace {

using ::wink::webhooks::internal::v1::DeliveryUpdateRecord;

constexpr Sql kReadUpdates{
    "read_updates",
    "SELECT sequence, record FROM updates WHERE sequence > $1 ORDER BY sequence LIMIT $2"};
constexpr Sql kOldestUpdate{"oldest_update", "SELECT min(sequence) FROM updates"};

}  // namespace

absl::StatusOr<std::vector<DeliveryUpdate>> PostgresUpdateLog::ReadUpdates(uint64_t after,
                                                                           int limit) {
  WINK_ASSIGN_OR_RETURN(
      const Rows rows,
      context_.readers.Query(
          Statement{kReadUpdates, {Param::Int(static_cast<int64_t>(after)), Param::Int(limit)}}));
  std::vector<DeliveryUpdate> updates;
  for (int row = 0; row < rows.size(); ++row) {
    DeliveryUpdate update;
    update.sequence = static_cast<uint64_t>(rows.Int(row, 0));
    DeliveryUpdateRecord record;
    WINK_RETURN_IF_ERROR(
        DecodeRecord(rows.Bytes(row, 1), kUpdateRecordVersion, "delivery update", record));
    update.delivery = std::move(*record.mutable_delivery());
    updates.push_back(std::move(update));
  }
  return updates;
}

absl::StatusOr<uint64_t> PostgresUpdateLog::OldestSequence() {
  WINK_ASSIGN_OR_RETURN(const Rows rows, context_.readers.Query(Statement{kOldestUpdate, {}}));
  if (rows.empty() || rows.IsNull(0, 0)) return 0;
  return static_cast<uint64_t>(rows.Int(0, 0));
}

uint64_t PostgresUpdateLog::LastSequence() { return context_.last_sequence.load(); }

void PostgresUpdateLog::AddListener(UpdateListener* listener) { context_.listeners.Add(listener); }

void PostgresUpdateLog::RemoveListener(UpdateListener* listener) {
  context_.listeners.Remove(listener);
}

}  // namespace wink::webhooks::storage::pg
