// PostgresDueQueue: the `deliveries_due` index (deliveries.due_time_us), of
// the partitions this node leases (partition_leases.h).
#include <utility>
#include <vector>

#include "service/common/status_macros.h"
#include "service/storage/postgres/stores.h"

namespace wink::webhooks::storage::pg {
namespace {

// The queue's reads run with sorting ruled out, which leaves the planner a
// single plan for their ORDER BY: a walk of the `deliveries_due` index that
// stops after the page. Left to the statistics, it read the whole backlog
// and sorted it, for every page, whenever they did not show that backlog:
// before the table's first ANALYZE, and after one taken while the
// deliveries were held (their due_time_us all NULL, so the partial index
// looks empty). Released, a 60,000-delivery backlog then drained at 20-4,200
// deliveries/s instead of ~5,400 (docs/BENCHMARKS.md, "a drain over
// PostgreSQL"). set_config(..., is_local) lasts until the end of the
// transaction, and the statements of a pipeline before its sync
// (Connection::Run) are one implicit transaction.
constexpr Sql kRuleOutSorting{"rule_out_sorting", "SELECT set_config('enable_sort', 'off', true)"};
// Keyset pages of the queue, so a scan holds no cursor open between pages.
constexpr Sql kDuePage{
    "due_page",
    "SELECT due_time_us, webhook_id, event_id FROM deliveries "
    "WHERE due_time_us IS NOT NULL AND (due_time_us, webhook_id, event_id) > ($1, $2, $3) "
    "AND due_time_us < $4 AND part = ANY($6::smallint[]) "
    "ORDER BY due_time_us, webhook_id, event_id LIMIT $5"};
// Rather than min(due_time_us), which, with statistics that show nothing
// due, was planned as an aggregate over every entry after $1: the LIMIT
// stops at the first.
constexpr Sql kEarliestDueAfter{
    "earliest_due_after",
    "SELECT due_time_us FROM deliveries WHERE due_time_us > $1 "
    "AND part = ANY($2::smallint[]) ORDER BY due_time_us LIMIT 1"};
constexpr Sql kFirstOfWebhook{
    "first_due_of_webhook",
    "SELECT due_time_us, event_id FROM deliveries WHERE webhook_id = $1 "
    "AND due_time_us IS NOT NULL ORDER BY event_id LIMIT 1"};
// The planner's estimate: a scrape costs no scan.
constexpr Sql kEstimatedDue{
    "estimated_due",
    "SELECT greatest(reltuples, 0)::int8 FROM pg_class WHERE oid = to_regclass('deliveries_due')"};

constexpr int kDuePageSize = 1000;

// Runs `query` on a reader, after kRuleOutSorting in the same pipeline.
absl::StatusOr<Rows> QueryWithoutSorting(ConnectionPool& readers, Statement query) {
  WINK_ASSIGN_OR_RETURN(std::vector<Rows> results,
                        readers.Query({Statement{kRuleOutSorting, {}}, std::move(query)}));
  return std::move(results[1]);
}

}  // namespace

absl::Status PostgresDueQueue::ScanDue(absl::Time from, absl::Time before,
                                       const std::function<bool(const DueDelivery&)>& visit) {
  // Start just before `from`: ids are never empty, so ("", "") sorts first.
  DueDelivery position{absl::ToUnixMicros(from), "", ""};
  const int64_t before_us = absl::ToUnixMicros(before);
  const Param owned = Param::Text(context_.leases.OwnedArray());
  while (true) {
    WINK_ASSIGN_OR_RETURN(
        const Rows rows,
        QueryWithoutSorting(
            context_.readers,
            Statement{kDuePage,
                      {Param::Int(position.due_time_us), Param::Text(position.webhook_id),
                       Param::Text(position.event_id), Param::Int(before_us),
                       Param::Int(kDuePageSize), owned}}));
    for (int row = 0; row < rows.size(); ++row) {
      position = DueDelivery{rows.Int(row, 0), std::string(rows.Bytes(row, 1)),
                             std::string(rows.Bytes(row, 2))};
      if (!visit(position)) return absl::OkStatus();
    }
    if (rows.size() < kDuePageSize) return absl::OkStatus();
  }
}

absl::StatusOr<std::optional<absl::Time>> PostgresDueQueue::EarliestDueTimeAfter(absl::Time after) {
  WINK_ASSIGN_OR_RETURN(
      const Rows rows,
      QueryWithoutSorting(context_.readers,
                          Statement{kEarliestDueAfter,
                                    {Param::Int(absl::ToUnixMicros(after)),
                                     Param::Text(context_.leases.OwnedArray())}}));
  if (rows.empty()) return std::nullopt;
  return absl::FromUnixMicros(rows.Int(0, 0));
}

absl::StatusOr<std::optional<DueDelivery>> PostgresDueQueue::FirstOfWebhook(
    absl::string_view webhook_id) {
  WINK_ASSIGN_OR_RETURN(
      const Rows rows,
      context_.readers.Query(Statement{kFirstOfWebhook, {Param::Text(webhook_id)}}));
  if (rows.empty()) return std::nullopt;
  return DueDelivery{rows.Int(0, 0), std::string(webhook_id), std::string(rows.Bytes(0, 1))};
}

uint64_t PostgresDueQueue::EstimatedSize() {
  auto rows = context_.readers.Query(Statement{kEstimatedDue, {}});
  if (!rows.ok() || rows->empty() || rows->IsNull(0, 0)) return 0;
  return static_cast<uint64_t>(rows->Int(0, 0));
}

bool PostgresDueQueue::Owns(absl::string_view webhook_id) {
  return context_.leases.Owns(webhook_id);
}

uint64_t PostgresDueQueue::OwnershipVersion() { return context_.leases.version(); }

}  // namespace wink::webhooks::storage::pg
