#include "service/storage/webhook_store.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "service/common/status_macros.h"
#include "service/storage/database.h"
#include "service/storage/delivery_writes.h"
#include "service/storage/keys.h"
#include "service/storage/records.h"
#include "service/storage/writer.h"

namespace wink::webhooks::storage {
namespace {

using ::wink::webhooks::internal::v1::IdempotencyRecord;

}  // namespace

WebhookStore::WebhookStore(Database& db, Writer& writer, IdGenerator& ids, const Clock& clock,
                           UpdateListener* listener)
    : db_(db), writer_(writer), ids_(ids), clock_(clock), listener_(listener) {}

namespace {

// Reads a webhook inside a writer operation. NOT_FOUND if absent.
absl::StatusOr<WebhookRecord> ReadWebhook(WriteTxn& txn, absl::string_view account,
                                          absl::string_view id) {
  auto stored = txn.Get(ColumnFamily::kWebhooks, WebhookKey(account, id));
  if (absl::IsNotFound(stored.status())) {
    return absl::NotFoundError(absl::StrCat("webhook ", id, " not found"));
  }
  WINK_RETURN_IF_ERROR(stored.status());
  WebhookRecord record;
  WINK_RETURN_IF_ERROR(DecodeRecord(*stored, kWebhookRecordVersion, "webhook", record));
  return record;
}

// Number of webhooks of `account`, counting no further than `stop_at`.
absl::StatusOr<int> CountUpTo(WriteTxn& txn, absl::string_view account, int stop_at) {
  int count = 0;
  WINK_RETURN_IF_ERROR(
      txn.Scan(ColumnFamily::kWebhooks, WebhookKeyPrefix(account), "",
               [&](absl::string_view, absl::string_view) { return ++count < stop_at; }));
  return count;
}

}  // namespace

absl::StatusOr<CreateWebhookResult> WebhookStore::Create(WebhookRecord webhook,
                                                         const CreateWebhookOptions& options) {
  CreateWebhookResult result;
  WINK_RETURN_IF_ERROR(writer_.Run([&](WriteTxn& txn) -> absl::Status {
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
          auto existing = ReadWebhook(txn, account, earlier.resource_id());
          if (absl::IsNotFound(existing.status())) {
            return absl::FailedPreconditionError(
                "request_id: the webhook created with this request_id has since been deleted; "
                "use a new request_id to create another");
          }
          WINK_RETURN_IF_ERROR(existing.status());
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
    webhook.set_id(ids_.Next(kWebhookIdPrefix));
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
  it.SeekPast(after_id.empty() ? "" : WebhookKey(account, after_id));
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
    const std::function<absl::Status(WebhookRecord&)>& mutate,
    const UpdateWebhookOptions& options) {
  WebhookRecord result;
  WINK_RETURN_IF_ERROR(writer_.Run([&](WriteTxn& txn) -> absl::Status {
    WINK_ASSIGN_OR_RETURN(const WebhookRecord before, ReadWebhook(txn, account, id));
    WebhookRecord record = before;
    WINK_RETURN_IF_ERROR(mutate(record));
    const absl::Time now = clock_.Now();
    const bool paused = before.enabled() && !record.enabled();
    const bool resumed = !before.enabled() && record.enabled();
    if (paused) {
      if (record.disabled_reason() == 0) record.set_disabled_reason(kDisabledReasonManual);
      record.set_disable_time_us(absl::ToUnixMicros(now));
    } else if (resumed) {
      record.clear_disabled_reason();
      record.clear_disable_time_us();
      record.clear_failing_since_us();
      record.set_resume_generation(before.resume_generation() + 1);
    }
    record.set_version(kWebhookRecordVersion);
    txn.Put(ColumnFamily::kWebhooks, WebhookKey(account, id), record.SerializeAsString());
    if (resumed) {
      WINK_RETURN_IF_ERROR(
          StageCascade(txn, listener_, clock_,
                       options.drop_held_deliveries ? Cascade::kDropHeld : Cascade::kReleaseHeld,
                       account, id, record.resume_generation()));
    }
    result = std::move(record);
    return absl::OkStatus();
  }));
  return result;
}

absl::Status WebhookStore::Delete(absl::string_view account, absl::string_view id) {
  return writer_.Run([&](WriteTxn& txn) -> absl::Status {
    WINK_RETURN_IF_ERROR(ReadWebhook(txn, account, id).status());
    txn.Delete(ColumnFamily::kWebhooks, WebhookKey(account, id));
    if (listener_ != nullptr) {
      txn.OnCommit([listener = listener_, webhook_id = std::string(id)] {
        listener->OnWebhookDeleted(webhook_id);
      });
    }
    return StageCascade(txn, listener_, clock_, Cascade::kCancelAll, account, id);
  });
}

}  // namespace wink::webhooks::storage
