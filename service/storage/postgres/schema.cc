#include "service/storage/postgres/schema.h"

#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/storage/update_log.h"

namespace wink::webhooks::storage::pg {
namespace {

// Any constant: the key of the advisory lock that serializes schema
// creation between nodes starting together.
constexpr int64_t kSchemaLockKey = 0x77696e6b;  // "wink"

constexpr absl::string_view kCreateTables = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (
  version integer NOT NULL
);
CREATE TABLE IF NOT EXISTS webhooks (
  account text COLLATE "C" NOT NULL,
  id text COLLATE "C" NOT NULL,
  record bytea NOT NULL,
  PRIMARY KEY (account, id)
);
CREATE TABLE IF NOT EXISTS idempotency (
  account text COLLATE "C" NOT NULL,
  kind smallint NOT NULL,
  key bytea NOT NULL,
  record bytea NOT NULL,
  PRIMARY KEY (account, kind, key)
);
CREATE TABLE IF NOT EXISTS events (
  account text COLLATE "C" NOT NULL,
  id text COLLATE "C" NOT NULL,
  type text COLLATE "C" NOT NULL,
  watch_cursor bigint NOT NULL DEFAULT 0,
  record bytea NOT NULL,
  PRIMARY KEY (account, id)
);
-- Event ids begin with their time: retention finds old events by id.
CREATE INDEX IF NOT EXISTS events_by_id ON events (id);
CREATE TABLE IF NOT EXISTS deliveries (
  webhook_id text COLLATE "C" NOT NULL,
  event_id text COLLATE "C" NOT NULL,
  account text COLLATE "C" NOT NULL,
  state smallint NOT NULL,
  due_time_us bigint,
  held boolean NOT NULL,
  record bytea NOT NULL,
  part smallint NOT NULL,
  PRIMARY KEY (webhook_id, event_id)
);
CREATE INDEX IF NOT EXISTS deliveries_by_event ON deliveries (event_id, webhook_id);
CREATE INDEX IF NOT EXISTS deliveries_by_account
  ON deliveries (account, event_id DESC, webhook_id);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (due_time_us, webhook_id, event_id)
  WHERE due_time_us IS NOT NULL;
CREATE INDEX IF NOT EXISTS deliveries_held ON deliveries (webhook_id, event_id) WHERE held;
CREATE TABLE IF NOT EXISTS attempts (
  webhook_id text COLLATE "C" NOT NULL,
  event_id text COLLATE "C" NOT NULL,
  number integer NOT NULL,
  record bytea NOT NULL,
  PRIMARY KEY (webhook_id, event_id, number)
);
CREATE TABLE IF NOT EXISTS updates (
  sequence bigint PRIMARY KEY,
  update_time_us bigint NOT NULL,
  record bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS update_counter (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  last bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS account_usage (
  account text COLLATE "C" PRIMARY KEY,
  events bigint NOT NULL,
  bytes bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes (
  node_id text COLLATE "C" PRIMARY KEY,
  expires_at timestamptz NOT NULL
);
-- Added after schema version 2 without a new version: a database of an
-- older binary gains it here at the next start, and an older binary never
-- reads it.
CREATE TABLE IF NOT EXISTS applications (
  account text COLLATE "C" NOT NULL,
  id text COLLATE "C" NOT NULL,
  record bytea NOT NULL,
  PRIMARY KEY (account, id)
);
CREATE TABLE IF NOT EXISTS partitions (
  part smallint PRIMARY KEY,
  owner text COLLATE "C" NOT NULL DEFAULT '',
  epoch bigint NOT NULL DEFAULT 0,
  expires_at timestamptz NOT NULL DEFAULT '-infinity'
);
-- Added after schema version 2 without a new version (PostgreSQL keeps it
-- true whoever writes): a webhook's oldest unfinished delivery in publish
-- order, which an ordered webhook sends first (DueQueue::FirstOfWebhook).
CREATE INDEX IF NOT EXISTS deliveries_due_by_webhook ON deliveries (webhook_id, event_id)
  WHERE due_time_us IS NOT NULL;
)sql";

constexpr Sql kReadVersion{"read_schema_version", "SELECT max(version) FROM schema_version"};
// Version 1 kept no usage: count it from the events.
constexpr absl::string_view kMigrateFrom1 = R"sql(
INSERT INTO account_usage (account, events, bytes)
  SELECT account, count(*), coalesce(sum(octet_length(record)), 0) FROM events GROUP BY account
  ON CONFLICT (account) DO UPDATE SET events = excluded.events, bytes = excluded.bytes;
)sql";

constexpr Sql kReadCounter{"read_update_counter", "SELECT last FROM update_counter"};

}  // namespace

absl::StatusOr<uint64_t> CreateSchema(Connection& connection) {
  WINK_RETURN_IF_ERROR(
      connection.Execute(absl::StrCat("BEGIN; SELECT pg_advisory_xact_lock(", kSchemaLockKey, ");",
                                      kCreateTables, "INSERT INTO update_counter (last) VALUES (",
                                      kFirstUpdateSequence - 1, ") ON CONFLICT DO NOTHING;",
                                      "INSERT INTO partitions (part) SELECT generate_series(0, ",
                                      kPartitionCount - 1, ") ON CONFLICT DO NOTHING;")));
  auto version = connection.RunOne(Statement{kReadVersion, {}});
  if (!version.ok()) {
    connection.Execute("ROLLBACK").IgnoreError();
    return version.status();
  }
  if (!version->IsNull(0, 0) && version->Int(0, 0) > kSchemaVersion) {
    connection.Execute("ROLLBACK").IgnoreError();
    return absl::FailedPreconditionError(
        absl::StrCat("the PostgreSQL database holds schema version ", version->Int(0, 0),
                     ", newer than this binary's ", kSchemaVersion,
                     ": run a newer binary (or another database)"));
  }
  if (version->IsNull(0, 0) || version->Int(0, 0) < kSchemaVersion) {
    if (!version->IsNull(0, 0) && version->Int(0, 0) < 2) {
      WINK_RETURN_IF_ERROR(connection.Execute(kMigrateFrom1));
    }
    WINK_RETURN_IF_ERROR(connection.Execute(
        absl::StrCat("INSERT INTO schema_version (version) VALUES (", kSchemaVersion, ")")));
  }
  WINK_RETURN_IF_ERROR(connection.Execute("COMMIT"));
  WINK_ASSIGN_OR_RETURN(Rows counter, connection.RunOne(Statement{kReadCounter, {}}));
  if (counter.size() != 1) return absl::DataLossError("the update counter row is missing");
  return static_cast<uint64_t>(counter.Int(0, 0));
}

}  // namespace wink::webhooks::storage::pg
