// PostgresApplicationStore: table `applications`.
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/storage/postgres/delivery_writes.h"
#include "service/storage/postgres/schema.h"
#include "service/storage/postgres/stores.h"
#include "service/storage/records.h"

namespace wink::webhooks::storage::pg {
namespace {

// Keyed "applications/<account>": apart from the account lock
// ("account/<account>") that every publish takes shared, so creating an
// application never waits for publishes.
constexpr Sql kLockApplications{"lock_applications",
                                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"};
constexpr Sql kApplicationExists{"application_exists",
                                 "SELECT 1 FROM applications WHERE account = $1 AND id = $2"};
// Counts no further than the limit.
constexpr Sql kCountApplications{
    "count_applications",
    "SELECT count(*) FROM (SELECT 1 FROM applications WHERE account = $1 LIMIT $2) AS limited"};
constexpr Sql kInsertApplication{
    "insert_application", "INSERT INTO applications (account, id, record) VALUES ($1, $2, $3)"};
constexpr Sql kApplication{"application",
                           "SELECT record FROM applications WHERE account = $1 AND id = $2"};
constexpr Sql kApplicationForUpdate{
    "application_for_update",
    "SELECT record FROM applications WHERE account = $1 AND id = $2 FOR UPDATE"};
constexpr Sql kUpdateApplication{
    "update_application", "UPDATE applications SET record = $3 WHERE account = $1 AND id = $2"};
constexpr Sql kDeleteApplication{"delete_application",
                                 "DELETE FROM applications WHERE account = $1 AND id = $2"};
// One more than asked for, to know whether more follow.
constexpr Sql kListApplications{
    "list_applications",
    "SELECT record FROM applications WHERE account = $1 AND id > $2 ORDER BY id LIMIT $3"};
constexpr Sql kListAllApplications{"list_all_applications",
                                   "SELECT record FROM applications WHERE (account, id) > ($1, $2) "
                                   "ORDER BY account, id LIMIT $3"};

absl::Status ApplicationNotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("application ", id, " not found"));
}

Statement LockApplicationsOf(absl::string_view account) {
  return Statement{kLockApplications, {Param::Text(absl::StrCat("applications/", account))}};
}

// Up to `limit` applications of `rows` (one record per row, `limit` + 1
// asked for); has_more when a row was left.
absl::StatusOr<ApplicationPage> ApplicationPageFrom(const Rows& rows, int limit) {
  ApplicationPage page;
  for (int row = 0; row < rows.size(); ++row) {
    if (static_cast<int>(page.applications.size()) == limit) {
      page.has_more = true;
      break;
    }
    WINK_ASSIGN_OR_RETURN(
        std::optional<ApplicationRecord> application,
        RecordAt<ApplicationRecord>(rows, row, 0, kApplicationRecordVersion, "application"));
    page.applications.push_back(*std::move(application));
  }
  return page;
}

}  // namespace

absl::Status PostgresApplicationStore::Create(ApplicationRecord application) {
  application.set_version(kApplicationRecordVersion);
  const std::string& account = application.account();
  const std::string& id = application.id();
  const std::string bytes = application.SerializeAsString();
  // A lost COMMIT fails the call (kFail): running it again would find its
  // own row and say ALREADY_EXISTS, which is worse than UNAVAILABLE.
  return context_.writer.Run([&](WriteTxn& txn) -> absl::Status {
    // The lock makes the count hold until the insert commits: two nodes
    // creating in one account at once run one after the other, and the
    // second counts the first's row.
    WINK_ASSIGN_OR_RETURN(
        const std::vector<Rows> rows,
        txn.Read({LockApplicationsOf(account),
                  Statement{kApplicationExists, {Param::Text(account), Param::Text(id)}},
                  Statement{kCountApplications,
                            {Param::Text(account), Param::Int(kMaxApplicationsPerAccount)}}}));
    if (!rows[1].empty()) {
      return absl::AlreadyExistsError(
          absl::StrCat("application ", id, " already exists in account \"", account, "\""));
    }
    if (rows[2].Int(0, 0) >= kMaxApplicationsPerAccount) {
      return absl::ResourceExhaustedError(
          absl::StrCat("account \"", account, "\" already has the maximum of ",
                       kMaxApplicationsPerAccount, " applications; delete one first"));
    }
    txn.Write(Statement{kInsertApplication,
                        {Param::Text(account), Param::Text(id), Param::Bytes(bytes)}});
    txn.Write(context_.feed.NotifyApplicationChangedStatement(account, id));
    return absl::OkStatus();
  });
}

absl::StatusOr<ApplicationRecord> PostgresApplicationStore::Get(absl::string_view account,
                                                                absl::string_view id) {
  WINK_ASSIGN_OR_RETURN(
      const Rows rows,
      context_.readers.Query(Statement{kApplication, {Param::Text(account), Param::Text(id)}}));
  WINK_ASSIGN_OR_RETURN(
      std::optional<ApplicationRecord> application,
      RecordAt<ApplicationRecord>(rows, 0, 0, kApplicationRecordVersion, "application"));
  if (!application.has_value()) return ApplicationNotFound(id);
  return *std::move(application);
}

absl::StatusOr<ApplicationPage> PostgresApplicationStore::List(absl::string_view account,
                                                               absl::string_view after_id,
                                                               int limit) {
  WINK_ASSIGN_OR_RETURN(const Rows rows,
                        context_.readers.Query(Statement{
                            kListApplications,
                            {Param::Text(account), Param::Text(after_id), Param::Int(limit + 1)}}));
  return ApplicationPageFrom(rows, limit);
}

absl::StatusOr<ApplicationPage> PostgresApplicationStore::ListAll(
    const std::optional<ApplicationPosition>& after, int limit) {
  // ("", "") sorts before every real (account, id).
  const ApplicationPosition start = after.value_or(ApplicationPosition{});
  WINK_ASSIGN_OR_RETURN(
      const Rows rows,
      context_.readers.Query(
          Statement{kListAllApplications,
                    {Param::Text(start.account), Param::Text(start.id), Param::Int(limit + 1)}}));
  return ApplicationPageFrom(rows, limit);
}

absl::StatusOr<ApplicationRecord> PostgresApplicationStore::Update(
    absl::string_view account, absl::string_view id,
    const std::function<absl::Status(ApplicationRecord&)>& mutate) {
  ApplicationRecord result;
  WINK_RETURN_IF_ERROR(context_.writer.Run([&](WriteTxn& txn) -> absl::Status {
    // FOR UPDATE: a concurrent update (any node) waits for this one and
    // then mutates what it wrote.
    WINK_ASSIGN_OR_RETURN(
        const Rows rows,
        txn.ReadOne(Statement{kApplicationForUpdate, {Param::Text(account), Param::Text(id)}}));
    WINK_ASSIGN_OR_RETURN(
        std::optional<ApplicationRecord> application,
        RecordAt<ApplicationRecord>(rows, 0, 0, kApplicationRecordVersion, "application"));
    if (!application.has_value()) return ApplicationNotFound(id);
    // Nothing is staged before this point: an error leaves nothing behind.
    WINK_RETURN_IF_ERROR(mutate(*application));
    if (application->account() != account || application->id() != id) {
      return absl::InternalError(absl::StrCat("an update of application ", id,
                                              " changed its account or id; nothing written"));
    }
    application->set_version(kApplicationRecordVersion);
    txn.Write(Statement{
        kUpdateApplication,
        {Param::Text(account), Param::Text(id), Param::Bytes(application->SerializeAsString())}});
    txn.Write(context_.feed.NotifyApplicationChangedStatement(account, id));
    // The writer may run the operation again (a retried group): the last
    // run is the one committed.
    result = *std::move(application);
    return absl::OkStatus();
  }));
  return result;
}

absl::Status PostgresApplicationStore::Delete(absl::string_view account, absl::string_view id) {
  return context_.writer.Run([&](WriteTxn& txn) -> absl::Status {
    WINK_ASSIGN_OR_RETURN(
        const Rows rows,
        txn.ReadOne(Statement{kApplicationForUpdate, {Param::Text(account), Param::Text(id)}}));
    if (rows.empty()) return ApplicationNotFound(id);
    txn.Write(Statement{kDeleteApplication, {Param::Text(account), Param::Text(id)}});
    txn.Write(context_.feed.NotifyApplicationChangedStatement(account, id));
    return absl::OkStatus();
  });
}

void PostgresApplicationStore::SetRemoteChangeListener(RemoteChangeListener listener) {
  context_.feed.SetApplicationChangeListener(std::move(listener));
}

}  // namespace wink::webhooks::storage::pg
