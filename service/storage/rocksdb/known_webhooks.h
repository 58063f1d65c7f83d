// The webhooks the writer read recently, kept between its operations: a
// publish fans out to its account's webhooks, and an attempt's result needs
// its webhook, so reading them for every operation was a scan (a publish)
// or a point read (a result) per operation on the one writer thread.
//
// Never older than what an operation would read itself: what is kept is
// dropped whenever the `webhooks` family's change stamp moves
// (WriteTxn::change_stamp: any write to the family, staged in the current
// group or not, any rollback, any failed commit).
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_KNOWN_WEBHOOKS_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_KNOWN_WEBHOOKS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "service/domain/states.h"
#include "service/storage/rocksdb/writer.h"

namespace wink::webhooks::storage::rocks {

// Writer thread only: operations run there one at a time, and only they
// call it, with their own WriteTxn.
class KnownWebhooks {
 public:
  // An account's webhooks in key order (keys.h: shorter ids first).
  using Webhooks = std::shared_ptr<const std::vector<domain::WebhookRecord>>;

  // The account's webhooks as `txn` sees them: kept, or read (a prefix
  // scan) and kept.
  absl::StatusOr<Webhooks> Of(WriteTxn& txn, absl::string_view account);

  // One webhook of the account as `txn` sees it; null when there is none.
  // Found among the account's webhooks when they are kept; else read by
  // key and kept on its own (the account is not read whole for it), so
  // the results of a webhook's attempts with no publish to its account in
  // between (a backlog draining, retries) read it once.
  absl::StatusOr<std::shared_ptr<const domain::WebhookRecord>> Find(WriteTxn& txn,
                                                            absl::string_view account,
                                                            absl::string_view webhook_id);

 private:
  // Drops everything when the `webhooks` family changed since it was read.
  void DropIfChanged(WriteTxn& txn);
  void Forget();

  // At most kMaxRecords records in both maps (an account without webhooks
  // counts as one), a few MiB; when full it starts over, and an account
  // with more than that is read every time.
  static constexpr size_t kMaxRecords = 4096;
  absl::flat_hash_map<std::string, Webhooks> by_account_;
  // Webhooks read by key, by WebhookKey(account, id): the account is part
  // of the key, as it is of every read.
  absl::flat_hash_map<std::string, std::shared_ptr<const domain::WebhookRecord>> by_key_;
  size_t records_ = 0;
  uint64_t stamp_ = 0;
};

}  // namespace wink::webhooks::storage::rocks

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_KNOWN_WEBHOOKS_H_
