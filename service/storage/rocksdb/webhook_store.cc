// RocksDbWebhookStore: column families `webhooks` and `idempotency`.
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/domain/webhook_lifecycle.h"
#include "service/storage/records.h"
#include "service/storage/rocksdb/delivery_writes.h"
#include "service/storage/rocksdb/keys.h"
#include "service/storage/rocksdb/stores.h"

namespace wink::webhooks::storage::rocks {
namespace {

using ::wink::webhooks::internal::v1::IdempotencyRecord;

absl::Status WebhookNotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("webhook ", id, " not found"));
}

// Number of webhooks of `account`, counting no further than `stop_at`.
absl::StatusOr<int> CountUpTo(WriteTxn& txn, absl::string_view account, int stop_at) {
  int count = 0;
  WINK_RETURN_IF_ERROR(
      txn.Scan(ColumnFamily::kWebhooks, WebhookKeyPrefix(account), "",
               [&](absl::string_view, absl::string_view) { return ++count < stop_at; }));
  return count;
}

// The webhooks from `it` on: up to `limit`, and no more than kMaxPageBytes.
absl::StatusOr<WebhookPage> ReadWebhookPage(PrefixIterator& it, int limit) {
  WebhookPage page;
  size_t page_bytes = 0;
  for (; it->Valid(); it->Next()) {
    const size_t bytes = it->value().size();
    if (static_cast<int>(page.webhooks.size()) == limit ||
        (!page.webhooks.empty() && page_bytes + bytes > kMaxPageBytes)) {
      page.has_more = true;
      break;
    }
    page_bytes += bytes;
    WebhookRecord record;
    WINK_RETURN_IF_ERROR(DecodeRecord(absl::string_view(it->value().data(), it->value().size()),
                                      kWebhookRecordVersion, "webhook", record));
    page.webhooks.push_back(std::move(record));
  }
  WINK_RETURN_IF_ERROR(FromRocksDb(it->status(), "listing webhooks"));
  return page;
}

}  // namespace

absl::StatusOr<CreateWebhookResult> RocksDbWebhookStore::Create(
    WebhookRecord webhook, const CreateWebhookOptions& options) {
  CreateWebhookResult result;
  WINK_RETURN_IF_ERROR(context_.writer.Run([&](WriteTxn& txn) -> absl::Status {
    const std::string& account = webhook.account();
    std::string idempotency_key;
    if (!options.request_id.empty()) {
      idempotency_key =
          IdempotencyKey(account, IdempotencyKind::kCreateWebhook, options.request_id);
      auto stored = txn.Get(ColumnFamily::kIdempotency, idempotency_key);
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
          WINK_ASSIGN_OR_RETURN(std::optional<WebhookRecord> existing,
                                ReadWebhookIn(txn, account, earlier.resource_id()));
          if (!existing.has_value()) {
            return absl::FailedPreconditionError(
                "request_id: the webhook created with this request_id has since been deleted; "
                "use a new request_id to create another");
          }
          result = CreateWebhookResult{*std::move(existing), /*created=*/false};
          return absl::OkStatus();
        }
      } else if (!absl::IsNotFound(stored.status())) {
        return stored.status();
      }
    }

    WINK_ASSIGN_OR_RETURN(const int count,
                          CountUpTo(txn, account, options.max_webhooks_per_account));
    if (count >= options.max_webhooks_per_account) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "account \"", account, "\" already has the maximum of ", options.max_webhooks_per_account,
          " webhooks; delete one or ask for a higher limit"));
    }
    webhook.set_id(context_.ids.Next(kWebhookIdPrefix));
    webhook.set_version(kWebhookRecordVersion);
    txn.Put(ColumnFamily::kWebhooks, WebhookKey(account, webhook.id()),
            webhook.SerializeAsString());
    if (!idempotency_key.empty()) {
      IdempotencyRecord record;
      record.set_version(kIdempotencyRecordVersion);
      record.set_resource_id(webhook.id());
      record.set_request_fingerprint(options.request_fingerprint);
      record.set_expire_time_us(absl::ToUnixMicros(options.request_id_expire_time));
      txn.Put(ColumnFamily::kIdempotency, idempotency_key, record.SerializeAsString());
    }
    result = CreateWebhookResult{webhook, /*created=*/true};
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<WebhookRecord> RocksDbWebhookStore::Get(absl::string_view account,
                                                       absl::string_view id) {
  WINK_ASSIGN_OR_RETURN(
      std::optional<WebhookRecord> webhook,
      ReadRecord<WebhookRecord>(context_.db, ColumnFamily::kWebhooks, WebhookKey(account, id),
                                kWebhookRecordVersion, "webhook"));
  if (!webhook.has_value()) return WebhookNotFound(id);
  return *std::move(webhook);
}

absl::StatusOr<WebhookPage> RocksDbWebhookStore::List(absl::string_view account,
                                                      absl::string_view after_id, int limit) {
  PrefixIterator it(context_.db, ColumnFamily::kWebhooks, WebhookKeyPrefix(account));
  it.SeekPast(after_id.empty() ? "" : WebhookKey(account, after_id));
  return ReadWebhookPage(it, limit);
}

absl::StatusOr<WebhookPage> RocksDbWebhookStore::ListAll(
    const std::optional<WebhookPosition>& after, int limit) {
  // Keys sort by (account, id): one pass over the whole family.
  PrefixIterator it(context_.db, ColumnFamily::kWebhooks, "");
  it.SeekPast(after.has_value() ? WebhookKey(after->account, after->id) : "");
  return ReadWebhookPage(it, limit);
}

absl::StatusOr<WebhookRecord> RocksDbWebhookStore::Update(
    absl::string_view account, absl::string_view id,
    const std::function<absl::Status(WebhookRecord&)>& mutate,
    const UpdateWebhookOptions& options) {
  WebhookRecord result;
  WINK_RETURN_IF_ERROR(context_.writer.Run([&](WriteTxn& txn) -> absl::Status {
    WINK_ASSIGN_OR_RETURN(const std::optional<WebhookRecord> before,
                          ReadWebhookIn(txn, account, id));
    if (!before.has_value()) return WebhookNotFound(id);
    WebhookRecord record = *before;
    WINK_RETURN_IF_ERROR(mutate(record));
    const domain::Cascade cascade = domain::SettleEnabledChange(
        *before, record, options.drop_held_deliveries, context_.clock.Now());
    record.set_version(kWebhookRecordVersion);
    txn.Put(ColumnFamily::kWebhooks, WebhookKey(account, id), record.SerializeAsString());
    WINK_RETURN_IF_ERROR(
        StageCascade(txn, context_, cascade, account, id, record.resume_generation()));
    result = std::move(record);
    return absl::OkStatus();
  }));
  return result;
}

absl::Status RocksDbWebhookStore::Delete(absl::string_view account, absl::string_view id) {
  return context_.writer.Run([&](WriteTxn& txn) -> absl::Status {
    WINK_ASSIGN_OR_RETURN(const std::optional<WebhookRecord> existing,
                          ReadWebhookIn(txn, account, id));
    if (!existing.has_value()) return WebhookNotFound(id);
    txn.Delete(ColumnFamily::kWebhooks, WebhookKey(account, id));
    txn.OnCommit([&listeners = context_.listeners, webhook_id = std::string(id)] {
      listeners.NotifyWebhookDeleted(webhook_id);
    });
    return StageCascade(txn, context_, domain::Cascade::kCancelAll, account, id,
                        /*generation=*/0);
  });
}

}  // namespace wink::webhooks::storage::rocks
