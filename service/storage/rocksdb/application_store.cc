// RocksDbApplicationStore: column family `applications`. One node owns the
// database, so no other node's changes exist to be told about.
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/storage/records.h"
#include "service/storage/rocksdb/delivery_writes.h"
#include "service/storage/rocksdb/keys.h"
#include "service/storage/rocksdb/stores.h"

namespace wink::webhooks::storage::rocks {
namespace {

absl::Status ApplicationNotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("application ", id, " not found"));
}

absl::StatusOr<std::optional<ApplicationRecord>> ReadApplicationIn(WriteTxn& txn,
                                                                   absl::string_view account,
                                                                   absl::string_view id) {
  return ReadRecord<ApplicationRecord>(txn, ColumnFamily::kApplications,
                                       ApplicationKey(account, id), kApplicationRecordVersion,
                                       "application");
}

absl::StatusOr<ApplicationPage> ReadApplicationPage(PrefixIterator& it, int limit) {
  ApplicationPage page;
  for (; it->Valid(); it->Next()) {
    if (static_cast<int>(page.applications.size()) == limit) {
      page.has_more = true;
      break;
    }
    ApplicationRecord record;
    WINK_RETURN_IF_ERROR(DecodeRecord(absl::string_view(it->value().data(), it->value().size()),
                                      kApplicationRecordVersion, "application", record));
    page.applications.push_back(std::move(record));
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "listing applications"));
  return page;
}

}  // namespace

absl::Status RocksDbApplicationStore::Create(ApplicationRecord application) {
  return context_.writer.Run([&](WriteTxn& txn) -> absl::Status {
    const std::string& account = application.account();
    WINK_ASSIGN_OR_RETURN(const std::optional<ApplicationRecord> existing,
                          ReadApplicationIn(txn, account, application.id()));
    if (existing.has_value()) {
      return absl::AlreadyExistsError(
          absl::StrCat("application ", application.id(), " already exists"));
    }
    int count = 0;
    WINK_RETURN_IF_ERROR(txn.Scan(ColumnFamily::kApplications, ApplicationKeyPrefix(account), "",
                                  [&](absl::string_view, absl::string_view) {
                                    return ++count < kMaxApplicationsPerAccount;
                                  }));
    if (count >= kMaxApplicationsPerAccount) {
      return absl::ResourceExhaustedError(
          absl::StrCat("account \"", account, "\" already has the maximum of ",
                       kMaxApplicationsPerAccount, " applications; delete one first"));
    }
    application.set_version(kApplicationRecordVersion);
    txn.Put(ColumnFamily::kApplications, ApplicationKey(account, application.id()),
            application.SerializeAsString());
    return absl::OkStatus();
  });
}

absl::StatusOr<ApplicationRecord> RocksDbApplicationStore::Get(absl::string_view account,
                                                               absl::string_view id) {
  WINK_ASSIGN_OR_RETURN(std::optional<ApplicationRecord> application,
                        ReadRecord<ApplicationRecord>(
                            context_.db, ColumnFamily::kApplications, ApplicationKey(account, id),
                            kApplicationRecordVersion, "application"));
  if (!application.has_value()) return ApplicationNotFound(id);
  return *std::move(application);
}

absl::StatusOr<ApplicationPage> RocksDbApplicationStore::List(absl::string_view account,
                                                              absl::string_view after_id,
                                                              int limit) {
  PrefixIterator it(context_.db, ColumnFamily::kApplications, ApplicationKeyPrefix(account));
  it.SeekPast(after_id.empty() ? "" : ApplicationKey(account, after_id));
  return ReadApplicationPage(it, limit);
}

absl::StatusOr<ApplicationPage> RocksDbApplicationStore::ListAll(
    const std::optional<ApplicationPosition>& after, int limit) {
  PrefixIterator it(context_.db, ColumnFamily::kApplications, "");
  it.SeekPast(after.has_value() ? ApplicationKey(after->account, after->id) : "");
  return ReadApplicationPage(it, limit);
}

absl::StatusOr<ApplicationRecord> RocksDbApplicationStore::Update(
    absl::string_view account, absl::string_view id,
    const std::function<absl::Status(ApplicationRecord&)>& mutate) {
  ApplicationRecord result;
  WINK_RETURN_IF_ERROR(context_.writer.Run([&](WriteTxn& txn) -> absl::Status {
    WINK_ASSIGN_OR_RETURN(std::optional<ApplicationRecord> record,
                          ReadApplicationIn(txn, account, id));
    if (!record.has_value()) return ApplicationNotFound(id);
    WINK_RETURN_IF_ERROR(mutate(*record));
    record->set_version(kApplicationRecordVersion);
    txn.Put(ColumnFamily::kApplications, ApplicationKey(account, id), record->SerializeAsString());
    result = *std::move(record);
    return absl::OkStatus();
  }));
  return result;
}

absl::Status RocksDbApplicationStore::Delete(absl::string_view account, absl::string_view id) {
  return context_.writer.Run([&](WriteTxn& txn) -> absl::Status {
    WINK_ASSIGN_OR_RETURN(const std::optional<ApplicationRecord> existing,
                          ReadApplicationIn(txn, account, id));
    if (!existing.has_value()) return ApplicationNotFound(id);
    txn.Delete(ColumnFamily::kApplications, ApplicationKey(account, id));
    return absl::OkStatus();
  });
}

}  // namespace wink::webhooks::storage::rocks
