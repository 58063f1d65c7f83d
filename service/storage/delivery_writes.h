// Staging of delivery state changes inside a writer operation, shared by the
// stores. Internal to service/storage.
//
// StageDelivery is the one place that keeps a delivery's indexes consistent
// with its state: a PENDING or RETRY_SCHEDULED delivery has exactly one `due`
// entry (at next_attempt_time_us), a HELD delivery exactly one `held` entry,
// and terminal states neither. Every change also appends an update-log entry
// and, once durable, tells the update listener.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_DELIVERY_WRITES_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_DELIVERY_WRITES_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "service/common/clock.h"
#include "service/storage/update_listener.h"
#include "service/storage/writer.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::storage {

using ::wink::webhooks::internal::v1::DeliveryRecord;
using ::wink::webhooks::internal::v1::DeliveryStateRecord;

inline constexpr uint32_t kDeliveryRecordVersion = 1;
inline constexpr uint32_t kUpdateRecordVersion = 1;

// Reads a delivery inside an operation. NOT_FOUND if absent.
absl::StatusOr<DeliveryRecord> ReadDelivery(WriteTxn& txn, absl::string_view webhook_id,
                                            absl::string_view event_id);

// Stages `after` as the new state of a delivery whose previous state was
// `before` (nullptr for a new delivery): the record, its due/held entries,
// and an update-log entry reported to `listener` (may be null) on commit.
// Returns the update's sequence number.
uint64_t StageDelivery(WriteTxn& txn, UpdateListener* listener, const DeliveryRecord* before,
                       DeliveryRecord after);

// Moves up to `limit` HELD deliveries of `webhook_id` (in publish order):
// to PENDING (due at once) when `release`, else to CANCELLED with `reason`.
// Returns true when held deliveries remain after this chunk.
absl::StatusOr<bool> StageHeldChunk(WriteTxn& txn, UpdateListener* listener,
                                    absl::string_view webhook_id, bool release,
                                    absl::string_view reason, int limit, absl::Time now);

// Cancels up to `limit` not yet finished (PENDING, RETRY_SCHEDULED, HELD)
// deliveries of `webhook_id`, with `reason`, looking at no more than
// 10 x `limit` deliveries after `cursor` (a delivery key; empty: from the
// first) and leaving in `cursor` the last one it looked at. Returns true
// when more may remain.
absl::StatusOr<bool> StageCancelChunk(WriteTxn& txn, UpdateListener* listener,
                                      absl::string_view webhook_id, absl::string_view reason,
                                      int limit, absl::Time now, std::string& cursor);

// What a webhook change does to its deliveries.
enum class Cascade {
  kReleaseHeld,  // resumed: held deliveries become due, in publish order
  kDropHeld,     // resumed with drop_held_deliveries: held ones are cancelled
  kCancelAll,    // deleted: every unfinished delivery is cancelled
};

// Stages the first chunk of `cascade` for `webhook_id` and, once that is
// durable, submits follow-up operations for the rest. A follow-up stops when
// the webhook's state no longer calls for it: paused again, or resumed again
// (its WebhookRecord.resume_generation is no longer `generation`; the later
// resume's own cascade takes over), or re-created. `generation` is ignored
// by kCancelAll. `clock` and `listener` must outlive the writer.
absl::Status StageCascade(WriteTxn& txn, UpdateListener* listener, const Clock& clock,
                          Cascade cascade, absl::string_view account, absl::string_view webhook_id,
                          uint32_t generation = 0);

// Deliveries touched per operation by the cascades above; the rest follow in
// follow-up operations so one webhook with a million held deliveries cannot
// stall the writer.
inline constexpr int kCascadeChunk = 1000;

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_DELIVERY_WRITES_H_
