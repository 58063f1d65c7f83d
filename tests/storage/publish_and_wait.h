// EventLog::Publish for tests that want the result before they go on.
#ifndef WINK_WEBHOOKS_TESTS_STORAGE_PUBLISH_AND_WAIT_H_
#define WINK_WEBHOOKS_TESTS_STORAGE_PUBLISH_AND_WAIT_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "service/storage/event_log.h"

namespace wink::webhooks::testing {

// Publishes `request` and waits until it is durable (or failed).
inline absl::StatusOr<storage::PublishResult> PublishAndWait(storage::EventLog& events,
                                                             storage::PublishRequest request) {
  absl::Notification done;
  absl::StatusOr<storage::PublishResult> result;
  events.Publish(std::move(request), [&](absl::StatusOr<storage::PublishResult> published) {
    result = std::move(published);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

// A booking.created event with an empty object as data.
inline storage::PublishRequest BookingCreated(const std::string& account) {
  storage::PublishRequest request;
  request.account = account;
  request.event_type = "booking.created";
  request.data_json = "{}";
  return request;
}

}  // namespace wink::webhooks::testing

#endif  // WINK_WEBHOOKS_TESTS_STORAGE_PUBLISH_AND_WAIT_H_
