// Key encoding. Keys are concatenations of
//   - fixed-width big-endian unsigned integers (KeyWriter::U8/U32/U64), and
//   - strings prefixed with their length as a big-endian uint16 (Str),
// so that RocksDB's bytewise order equals the logical order of integers, and
// every key that starts with the same components sorts together (a prefix
// scan over "account" never reaches into another account whose id merely
// starts with the same characters). Strings of equal length sort bytewise;
// shorter strings sort first, which is why variable-length components are
// only used where grouping, not order, matters.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_KEYS_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_KEYS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "rocksdb/slice_transform.h"
#include "service/storage/rocksdb/column_families.h"

namespace wink::webhooks::storage::rocks {

// Longest string component a key can hold.
inline constexpr size_t kMaxKeyStringLength = 0xffff;

// Appends components to a key. Strings longer than kMaxKeyStringLength are a
// programming error (callers validate lengths long before): they abort.
class KeyWriter {
 public:
  KeyWriter& U8(uint8_t value);
  KeyWriter& U32(uint32_t value);
  KeyWriter& U64(uint64_t value);
  KeyWriter& Str(absl::string_view value);

  const std::string& key() const& { return key_; }
  std::string key() && { return std::move(key_); }

 private:
  std::string key_;
};

// Reads components back in the order they were written. Each method returns
// false (and leaves the reader failed) if the key is too short or malformed.
class KeyReader {
 public:
  explicit KeyReader(absl::string_view key) : rest_(key) {}

  bool U8(uint8_t* value);
  bool U32(uint32_t* value);
  bool U64(uint64_t* value);
  bool Str(absl::string_view* value);
  // True once every byte has been read.
  bool done() const { return rest_.empty(); }

 private:
  bool ReadBigEndian(int bytes, uint64_t* value);
  absl::string_view rest_;
};

// Kinds of idempotency entries, the second component of their keys.
enum class IdempotencyKind : uint8_t {
  kCreateWebhook = 'W',
  kPublishEvent = 'E',
};

// webhooks: (account, webhook id).
std::string WebhookKey(absl::string_view account, absl::string_view webhook_id);
// Prefix of every webhook key of `account`.
std::string WebhookKeyPrefix(absl::string_view account);

// applications: account, a NUL, then the application id, unprefixed.
// Unlike the other keys, these sort by (account, id) bytewise: application
// ids are chosen by callers and vary in length, and List promises id order.
// The NUL cannot occur in an account id ([A-Za-z0-9_-]), so it both ends
// the account (a scan of "acme" never reaches "acme-2") and sorts before
// every character an account may continue with.
std::string ApplicationKey(absl::string_view account, absl::string_view application_id);
// Prefix of every application key of `account`.
std::string ApplicationKeyPrefix(absl::string_view account);

// idempotency: (account, kind, key).
std::string IdempotencyKey(absl::string_view account, IdempotencyKind kind, absl::string_view key);

// events: (account, event id). Event ids sort by publish time.
std::string EventKey(absl::string_view account, absl::string_view event_id);
std::string EventKeyPrefix(absl::string_view account);

// default: the key DeliveryLedger::ProbeWritable writes (empty value) to see
// whether the disk takes writes again.
inline constexpr absl::string_view kWriteProbeKey = "write_probe";

// default: ("usage", account) -> AccountUsageRecord; and the key saying
// every account's usage was counted (AccountUsage of the schema migration).
std::string AccountUsageKey(absl::string_view account);
inline constexpr absl::string_view kUsageCountedKey = "usage_counted";

// deliveries, held: (webhook id, event id) -- a webhook's deliveries in
// publish order.
std::string DeliveryKey(absl::string_view webhook_id, absl::string_view event_id);
std::string DeliveryKeyPrefix(absl::string_view webhook_id);

// deliveries_by_event: (event id, webhook id).
std::string DeliveryByEventKey(absl::string_view event_id, absl::string_view webhook_id);
std::string DeliveryByEventKeyPrefix(absl::string_view event_id);

// attempts: (webhook id, event id, attempt number).
std::string AttemptKey(absl::string_view webhook_id, absl::string_view event_id,
                       uint32_t attempt_number);

// due: (next attempt time in Unix microseconds, webhook id, event id), so the
// queue reads in time order. Times before the epoch are stored as 0.
std::string DueKey(int64_t time_us, absl::string_view webhook_id, absl::string_view event_id);
// The first due key at or after `time_us` (exclusive upper bound of a scan
// for everything due before it).
std::string DueKeyLowerBound(int64_t time_us);

struct DueKeyParts {
  int64_t time_us = 0;
  absl::string_view webhook_id;  // point into the decoded key
  absl::string_view event_id;
};
// False if `key` is not a due key.
bool DecodeDueKey(absl::string_view key, DueKeyParts* parts);

// updates: (sequence number).
std::string UpdateKey(uint64_t sequence);
// False if `key` is not an update key.
bool DecodeUpdateKey(absl::string_view key, uint64_t* sequence);

// Smallest string greater than every string that starts with `prefix`, for
// use as an exclusive upper bound; empty if there is none (all 0xff).
std::string PrefixSuccessor(absl::string_view prefix);

// Where in `cf` a new key likely lands, for RocksDB's memtable insert hint
// (ColumnFamilyOptions::memtable_insert_with_hint_prefix_extractor): keys
// with the same hint prefix are inserted next to the previous one with that
// prefix, so the memtable's skip list starts its search there instead of at
// the top. Ids sort by creation time (common/ids.h), so
//   - families keyed by (webhook id, event id, ...) grow at the end of each
//     webhook's range: the prefix is the first component (the webhook id);
//   - families keyed by time, sequence or event id first grow at the end of
//     the family: one empty prefix for every key.
// Null for families whose keys land anywhere (idempotency keys are the
// caller's) or are rarely written. A hint only shortens the search: a key
// far from it is still inserted in order, so this changes no result.
std::shared_ptr<const rocksdb::SliceTransform> MemtableInsertHint(ColumnFamily cf);

}  // namespace wink::webhooks::storage::rocks

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_ROCKSDB_KEYS_H_
