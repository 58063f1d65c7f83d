#include "service/storage/rocksdb/known_webhooks.h"

#include <algorithm>
#include <utility>

#include "service/common/status_macros.h"
#include "service/storage/rocksdb/delivery_writes.h"
#include "service/storage/rocksdb/keys.h"

namespace wink::webhooks::storage::rocks {
namespace {

// The account's webhooks as the operation sees them, in key order.
absl::StatusOr<std::vector<WebhookRecord>> ReadWebhooksOf(WriteTxn& txn,
                                                          absl::string_view account) {
  std::vector<WebhookRecord> webhooks;
  absl::Status decode_status;
  WINK_RETURN_IF_ERROR(txn.Scan(ColumnFamily::kWebhooks, WebhookKeyPrefix(account), "",
                                [&](absl::string_view, absl::string_view value) {
                                  WebhookRecord webhook;
                                  decode_status = DecodeRecord(value, kWebhookRecordVersion,
                                                               "webhook", webhook);
                                  if (!decode_status.ok()) return false;
                                  webhooks.push_back(std::move(webhook));
                                  return true;
                                }));
  WINK_RETURN_IF_ERROR(decode_status);
  return webhooks;
}

}  // namespace

void KnownWebhooks::DropIfChanged(WriteTxn& txn) {
  const uint64_t stamp = txn.change_stamp(ColumnFamily::kWebhooks);
  if (stamp == stamp_) return;
  Forget();
  stamp_ = stamp;
}

void KnownWebhooks::Forget() {
  by_account_.clear();
  by_key_.clear();
  records_ = 0;
}

absl::StatusOr<KnownWebhooks::Webhooks> KnownWebhooks::Of(WriteTxn& txn,
                                                          absl::string_view account) {
  DropIfChanged(txn);
  auto known = by_account_.find(account);
  if (known != by_account_.end()) return known->second;
  WINK_ASSIGN_OR_RETURN(std::vector<WebhookRecord> read, ReadWebhooksOf(txn, account));
  auto webhooks = std::make_shared<const std::vector<WebhookRecord>>(std::move(read));
  const size_t count = std::max<size_t>(webhooks->size(), 1);
  if (count > kMaxRecords) return webhooks;
  if (records_ + count > kMaxRecords) Forget();
  by_account_.emplace(account, webhooks);
  records_ += count;
  return webhooks;
}

absl::StatusOr<std::shared_ptr<const WebhookRecord>> KnownWebhooks::Find(
    WriteTxn& txn, absl::string_view account, absl::string_view webhook_id) {
  DropIfChanged(txn);
  if (auto known = by_account_.find(account); known != by_account_.end()) {
    const Webhooks& webhooks = known->second;
    // In key order: shorter ids first, then bytewise (keys.h).
    auto found =
        std::lower_bound(webhooks->begin(), webhooks->end(), webhook_id,
                         [](const WebhookRecord& webhook, absl::string_view id) {
                           const absl::string_view known = webhook.id();
                           return known.size() != id.size() ? known.size() < id.size() : known < id;
                         });
    if (found == webhooks->end() || found->id() != webhook_id) return nullptr;
    // Shares the account's list: stays valid after it is dropped here.
    return std::shared_ptr<const WebhookRecord>(webhooks, &*found);
  }
  std::string key = WebhookKey(account, webhook_id);
  if (auto known = by_key_.find(key); known != by_key_.end()) return known->second;
  WINK_ASSIGN_OR_RETURN(std::optional<WebhookRecord> read, ReadWebhookIn(txn, account, webhook_id));
  if (!read.has_value()) return nullptr;
  auto webhook = std::make_shared<const WebhookRecord>(*std::move(read));
  if (records_ + 1 > kMaxRecords) Forget();
  by_key_.emplace(std::move(key), webhook);
  ++records_;
  return webhook;
}

}  // namespace wink::webhooks::storage::rocks
