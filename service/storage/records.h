// Encoding of stored values, shared by the backends: serialized internal
// protobuf records (proto/wink/webhooks/internal/v1/records.proto) whose
// `version` field is checked on every read, so a binary never silently
// misreads a record written in a format it does not know. Internal to
// service/storage.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_RECORDS_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_RECORDS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace wink::webhooks::storage {

// Format versions written into each kind of record.
// 2: the signing keys and header values may be sealed (sealed_key,
// sealed_headers); a version-1 reader would sign with an empty key.
inline constexpr uint32_t kWebhookRecordVersion = 2;
inline constexpr uint32_t kEventRecordVersion = 1;
inline constexpr uint32_t kDeliveryRecordVersion = 1;
inline constexpr uint32_t kAttemptRecordVersion = 1;
inline constexpr uint32_t kUpdateRecordVersion = 1;
inline constexpr uint32_t kIdempotencyRecordVersion = 1;
inline constexpr uint32_t kApplicationRecordVersion = 1;

// Parses `bytes` into `record` and checks 1 <= version <= `max_version`.
// DATA_LOSS if the bytes do not parse or the version is unknown; `what`
// names the record in the message.
template <typename Record>
absl::Status DecodeRecord(absl::string_view bytes, uint32_t max_version, absl::string_view what,
                          Record& record) {
  if (!record.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat("corrupt ", what, " record"));
  }
  if (record.version() < 1 || record.version() > max_version) {
    return absl::DataLossError(absl::StrCat(what, " record has unknown version ", record.version(),
                                            " (this binary reads up to ", max_version, ")"));
  }
  return absl::OkStatus();
}

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_RECORDS_H_
