// DecodeRecord (service/storage/records.h) over the internal records of
// proto/wink/webhooks/internal/v1/records.proto: what a backend does with
// every value it reads back, which a corrupt disk or a newer binary may have
// written. The first input byte picks the record type; the rest is the value.
//
// Invariants:
//  - an error is DATA_LOSS "corrupt <what> record" or "<what> record has
//    unknown version <n> (this binary reads up to <max>)";
//  - a record that decodes has 1 <= version <= max, is refused by a reader
//    that knows one version less, and survives serialize + decode unchanged.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_proto.h"
#include "google/protobuf/stubs/logging.h"
#include "service/storage/records.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace {

namespace fuzz = ::wink::webhooks::fuzz;

namespace internal = ::wink::webhooks::internal::v1;
namespace storage = ::wink::webhooks::storage;

template <typename Record>
void Check(absl::string_view bytes, uint32_t max_version, absl::string_view what) {
  Record record;
  const absl::Status status = storage::DecodeRecord(bytes, max_version, what, record);
  if (!status.ok()) {
    FUZZ_CHECK(status.code() == absl::StatusCode::kDataLoss, status.ToString());
    FUZZ_CHECK(
        status.message() == absl::StrCat("corrupt ", what, " record") ||
            status.message() == absl::StrCat(what, " record has unknown version ", record.version(),
                                             " (this binary reads up to ", max_version, ")"),
        status.ToString());
    return;
  }
  FUZZ_CHECK(record.version() >= 1 && record.version() <= max_version, "version out of range");
  Record older;
  FUZZ_CHECK(!storage::DecodeRecord(bytes, record.version() - 1, what, older).ok(),
             "a reader that does not know this version accepts it");

  const std::string written = fuzz::DeterministicBytes(record);
  Record again;
  const absl::Status again_status = storage::DecodeRecord(written, max_version, what, again);
  FUZZ_CHECK(again_status.ok(), "own serialization refused: " + again_status.ToString());
  FUZZ_CHECK(fuzz::DeterministicBytes(again) == written,
             "serialize + decode changes the record");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Parsing a string field that is not UTF-8 logs an ERROR line per input.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 6) {
    case 0:
      Check<internal::WebhookRecord>(bytes, storage::kWebhookRecordVersion, "webhook");
      break;
    case 1:
      Check<internal::EventRecord>(bytes, storage::kEventRecordVersion, "event");
      break;
    case 2:
      Check<internal::DeliveryRecord>(bytes, storage::kDeliveryRecordVersion, "delivery");
      break;
    case 3:
      Check<internal::AttemptRecord>(bytes, storage::kAttemptRecordVersion, "attempt");
      break;
    case 4:
      Check<internal::DeliveryUpdateRecord>(bytes, storage::kUpdateRecordVersion,
                                            "delivery update");
      break;
    case 5:
      Check<internal::IdempotencyRecord>(bytes, storage::kIdempotencyRecordVersion, "idempotency");
      break;
  }
  return 0;
}
