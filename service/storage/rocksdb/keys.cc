#include "service/storage/rocksdb/keys.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace wink::webhooks::storage::rocks {

KeyWriter& KeyWriter::U8(uint8_t value) {
  key_.push_back(static_cast<char>(value));
  return *this;
}

KeyWriter& KeyWriter::U32(uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    key_.push_back(static_cast<char>((value >> shift) & 0xff));
  }
  return *this;
}

KeyWriter& KeyWriter::U64(uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    key_.push_back(static_cast<char>((value >> shift) & 0xff));
  }
  return *this;
}

KeyWriter& KeyWriter::Str(absl::string_view value) {
  if (value.size() > kMaxKeyStringLength) std::abort();
  key_.push_back(static_cast<char>(value.size() >> 8));
  key_.push_back(static_cast<char>(value.size() & 0xff));
  key_.append(value.data(), value.size());
  return *this;
}

bool KeyReader::ReadBigEndian(int bytes, uint64_t* value) {
  if (rest_.size() < static_cast<size_t>(bytes)) {
    rest_ = absl::string_view();
    return false;
  }
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(rest_[i]);
  rest_.remove_prefix(bytes);
  *value = v;
  return true;
}

bool KeyReader::U8(uint8_t* value) {
  uint64_t v;
  if (!ReadBigEndian(1, &v)) return false;
  *value = static_cast<uint8_t>(v);
  return true;
}

bool KeyReader::U32(uint32_t* value) {
  uint64_t v;
  if (!ReadBigEndian(4, &v)) return false;
  *value = static_cast<uint32_t>(v);
  return true;
}

bool KeyReader::U64(uint64_t* value) { return ReadBigEndian(8, value); }

bool KeyReader::Str(absl::string_view* value) {
  uint64_t length;
  if (!ReadBigEndian(2, &length)) return false;
  if (rest_.size() < length) {
    rest_ = absl::string_view();
    return false;
  }
  *value = rest_.substr(0, length);
  rest_.remove_prefix(length);
  return true;
}

std::string WebhookKey(absl::string_view account, absl::string_view webhook_id) {
  return KeyWriter().Str(account).Str(webhook_id).key();
}

std::string WebhookKeyPrefix(absl::string_view account) { return KeyWriter().Str(account).key(); }

std::string ApplicationKey(absl::string_view account, absl::string_view application_id) {
  return absl::StrCat(ApplicationKeyPrefix(account), application_id);
}

std::string ApplicationKeyPrefix(absl::string_view account) {
  return absl::StrCat(account, absl::string_view("\0", 1));
}

std::string IdempotencyKey(absl::string_view account, IdempotencyKind kind, absl::string_view key) {
  return KeyWriter().Str(account).U8(static_cast<uint8_t>(kind)).Str(key).key();
}

std::string EventKey(absl::string_view account, absl::string_view event_id) {
  return KeyWriter().Str(account).Str(event_id).key();
}

std::string EventKeyPrefix(absl::string_view account) { return KeyWriter().Str(account).key(); }

std::string AccountUsageKey(absl::string_view account) {
  return KeyWriter().Str("usage").Str(account).key();
}

std::string DeliveryKey(absl::string_view webhook_id, absl::string_view event_id) {
  return KeyWriter().Str(webhook_id).Str(event_id).key();
}

std::string DeliveryKeyPrefix(absl::string_view webhook_id) {
  return KeyWriter().Str(webhook_id).key();
}

std::string DeliveryByEventKey(absl::string_view event_id, absl::string_view webhook_id) {
  return KeyWriter().Str(event_id).Str(webhook_id).key();
}

std::string DeliveryByEventKeyPrefix(absl::string_view event_id) {
  return KeyWriter().Str(event_id).key();
}

std::string AttemptKey(absl::string_view webhook_id, absl::string_view event_id,
                       uint32_t attempt_number) {
  return KeyWriter().Str(webhook_id).Str(event_id).U32(attempt_number).key();
}

std::string DueKey(int64_t time_us, absl::string_view webhook_id, absl::string_view event_id) {
  return KeyWriter()
      .U64(static_cast<uint64_t>(std::max<int64_t>(time_us, 0)))
      .Str(webhook_id)
      .Str(event_id)
      .key();
}

std::string DueKeyLowerBound(int64_t time_us) {
  return KeyWriter().U64(static_cast<uint64_t>(std::max<int64_t>(time_us, 0))).key();
}

bool DecodeDueKey(absl::string_view key, DueKeyParts* parts) {
  KeyReader reader(key);
  uint64_t time_us = 0;
  if (!reader.U64(&time_us) || !reader.Str(&parts->webhook_id) || !reader.Str(&parts->event_id) ||
      !reader.done()) {
    return false;
  }
  parts->time_us = static_cast<int64_t>(time_us);
  return true;
}

std::string UpdateKey(uint64_t sequence) { return KeyWriter().U64(sequence).key(); }

bool DecodeUpdateKey(absl::string_view key, uint64_t* sequence) {
  KeyReader reader(key);
  return reader.U64(sequence) && reader.done();
}

namespace {

// The key's first component, a length-prefixed string with its length; keys
// too short to hold one are out of the domain (inserted without a hint).
class FirstStringComponent : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "wink.FirstStringComponent"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), ComponentSize(key));
  }
  bool InDomain(const rocksdb::Slice& key) const override { return ComponentSize(key) > 0; }

 private:
  // Bytes of the first component, 0 if the key does not hold a whole one.
  static size_t ComponentSize(const rocksdb::Slice& key) {
    const absl::string_view whole(key.data(), key.size());
    KeyReader reader(whole);
    absl::string_view first;
    return reader.Str(&first) ? first.end() - whole.begin() : 0;
  }
};

// The same (empty) prefix for every key.
class WholeFamily : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "wink.WholeFamily"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), 0);
  }
  bool InDomain(const rocksdb::Slice&) const override { return true; }
};

}  // namespace

std::shared_ptr<const rocksdb::SliceTransform> MemtableInsertHint(ColumnFamily cf) {
  switch (cf) {
    case ColumnFamily::kDeliveries:
    case ColumnFamily::kAttempts:
    case ColumnFamily::kDueByWebhook:
    case ColumnFamily::kHeld:
    case ColumnFamily::kEvents:  // (account, event id)
      return std::make_shared<FirstStringComponent>();
    case ColumnFamily::kDue:
    case ColumnFamily::kUpdates:
    case ColumnFamily::kDeliveriesByEvent:
      return std::make_shared<WholeFamily>();
    case ColumnFamily::kDefault:
    case ColumnFamily::kWebhooks:
    case ColumnFamily::kIdempotency:
    case ColumnFamily::kApplications:
      return nullptr;
  }
  return nullptr;
}

std::string PrefixSuccessor(absl::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(out.back());
    if (last != 0xff) {
      ++last;
      return out;
    }
    out.pop_back();
  }
  return out;
}

}  // namespace wink::webhooks::storage::rocks
