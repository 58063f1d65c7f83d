#include "service/storage/webhook_store.h"

#include <memory>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/write_batch.h"
#include "service/common/status_macros.h"
#include "service/storage/database.h"
#include "service/storage/keys.h"
#include "service/storage/records.h"

namespace wink::webhooks::storage {
namespace {

using ::wink::webhooks::internal::v1::IdempotencyRecord;

constexpr uint32_t kIdempotencyRecordVersion = 1;

rocksdb::Slice AsSlice(const std::string& s) { return rocksdb::Slice(s); }

}  // namespace

WebhookStore::WebhookStore(Database& db, IdGenerator& ids) : db_(db), ids_(ids) {}

absl::Mutex& WebhookStore::LockFor(absl::string_view account) {
  return account_locks_[absl::Hash<absl::string_view>{}(account) % kLockStripes];
}

absl::StatusOr<CreateWebhookResult> WebhookStore::Create(WebhookRecord webhook,
                                                         const CreateWebhookOptions& options) {
  const std::string account = webhook.account();
  absl::MutexLock lock(&LockFor(account));

  std::string idempotency_key;
  if (!options.request_id.empty()) {
    idempotency_key = IdempotencyKey(account, IdempotencyKind::kCreateWebhook, options.request_id);
    auto stored = db_.Get(ColumnFamily::kIdempotency, idempotency_key);
    if (stored.ok()) {
      IdempotencyRecord earlier;
      WINK_RETURN_IF_ERROR(
          DecodeRecord(*stored, kIdempotencyRecordVersion, "idempotency", earlier));
      if (absl::FromUnixMicros(earlier.expire_time_us()) > options.now) {
        if (earlier.request_fingerprint() != options.request_fingerprint) {
          return absl::InvalidArgumentError(
              "request_id: already used for a different CreateWebhook request; use a new "
              "request_id for a new webhook");
        }
        auto existing = Get(account, earlier.resource_id());
        if (absl::IsNotFound(existing.status())) {
          return absl::FailedPreconditionError(
              "request_id: the webhook created with this request_id has since been deleted; "
              "use a new request_id to create another");
        }
        WINK_RETURN_IF_ERROR(existing.status());
        return CreateWebhookResult{*std::move(existing), /*created=*/false};
      }
    } else if (!absl::IsNotFound(stored.status())) {
      return stored.status();
    }
  }

  WINK_ASSIGN_OR_RETURN(const int count, CountUpTo(account, options.max_webhooks_per_account));
  if (count >= options.max_webhooks_per_account) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "account \"", account, "\" already has the maximum of ", options.max_webhooks_per_account,
        " webhooks; delete one or ask for a higher limit"));
  }
  webhook.set_id(ids_.Next(kWebhookIdPrefix));
  const std::string key = WebhookKey(account, webhook.id());
  webhook.set_version(kWebhookRecordVersion);
  rocksdb::WriteBatch batch;
  batch.Put(db_.handle(ColumnFamily::kWebhooks), AsSlice(key),
            AsSlice(webhook.SerializeAsString()));
  if (!idempotency_key.empty()) {
    IdempotencyRecord record;
    record.set_version(kIdempotencyRecordVersion);
    record.set_resource_id(webhook.id());
    record.set_request_fingerprint(options.request_fingerprint);
    record.set_expire_time_us(absl::ToUnixMicros(options.request_id_expire_time));
    batch.Put(db_.handle(ColumnFamily::kIdempotency), AsSlice(idempotency_key),
              AsSlice(record.SerializeAsString()));
  }
  WINK_RETURN_IF_ERROR(db_.Write(batch));
  return CreateWebhookResult{std::move(webhook), /*created=*/true};
}

absl::StatusOr<WebhookRecord> WebhookStore::Get(absl::string_view account, absl::string_view id) {
  auto stored = db_.Get(ColumnFamily::kWebhooks, WebhookKey(account, id));
  if (absl::IsNotFound(stored.status())) {
    return absl::NotFoundError(absl::StrCat("webhook ", id, " not found"));
  }
  WINK_RETURN_IF_ERROR(stored.status());
  WebhookRecord record;
  WINK_RETURN_IF_ERROR(DecodeRecord(*stored, kWebhookRecordVersion, "webhook", record));
  return record;
}

absl::StatusOr<WebhookPage> WebhookStore::List(absl::string_view account,
                                               absl::string_view after_id, int limit) {
  PrefixIterator it(db_, ColumnFamily::kWebhooks, WebhookKeyPrefix(account));
  if (after_id.empty()) {
    it->Seek(it.prefix());
  } else {
    const std::string after = WebhookKey(account, after_id);
    it->Seek(after);
    if (it->Valid() && it->key() == rocksdb::Slice(after)) it->Next();
  }
  WebhookPage page;
  for (; it->Valid(); it->Next()) {
    if (static_cast<int>(page.webhooks.size()) == limit) {
      page.has_more = true;
      break;
    }
    WebhookRecord record;
    WINK_RETURN_IF_ERROR(DecodeRecord(absl::string_view(it->value().data(), it->value().size()),
                                      kWebhookRecordVersion, "webhook", record));
    page.webhooks.push_back(std::move(record));
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "listing webhooks"));
  return page;
}

absl::StatusOr<WebhookRecord> WebhookStore::Update(
    absl::string_view account, absl::string_view id,
    const std::function<absl::Status(WebhookRecord&)>& mutate) {
  absl::MutexLock lock(&LockFor(account));
  WINK_ASSIGN_OR_RETURN(WebhookRecord record, Get(account, id));
  WINK_RETURN_IF_ERROR(mutate(record));
  record.set_version(kWebhookRecordVersion);
  rocksdb::WriteBatch batch;
  batch.Put(db_.handle(ColumnFamily::kWebhooks), AsSlice(WebhookKey(account, id)),
            AsSlice(record.SerializeAsString()));
  WINK_RETURN_IF_ERROR(db_.Write(batch));
  return record;
}

absl::Status WebhookStore::Delete(absl::string_view account, absl::string_view id) {
  absl::MutexLock lock(&LockFor(account));
  WINK_RETURN_IF_ERROR(Get(account, id).status());
  rocksdb::WriteBatch batch;
  batch.Delete(db_.handle(ColumnFamily::kWebhooks), AsSlice(WebhookKey(account, id)));
  return db_.Write(batch);
}

absl::StatusOr<int> WebhookStore::CountUpTo(absl::string_view account, int stop_at) {
  PrefixIterator it(db_, ColumnFamily::kWebhooks, WebhookKeyPrefix(account));
  int count = 0;
  for (it->Seek(it.prefix()); it->Valid() && count < stop_at; it->Next()) ++count;
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "counting webhooks"));
  return count;
}

}  // namespace wink::webhooks::storage
