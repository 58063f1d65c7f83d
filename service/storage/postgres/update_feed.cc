#include "service/storage/postgres/update_feed.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "service/common/log.h"
#include "service/common/status_macros.h"
#include "service/common/thread_name.h"
#include "service/storage/records.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::storage::pg {
namespace {

using ::wink::webhooks::internal::v1::DeliveryUpdateRecord;

constexpr Sql kReadUpdates{
    "read_updates",
    "SELECT sequence, record FROM updates WHERE sequence > $1 ORDER BY sequence LIMIT $2"};
constexpr Sql kNotify{"notify", "SELECT pg_notify($1, $2)"};
constexpr int kCatchUpBatch = 512;
constexpr absl::Duration kMaxReconnectBackoff = absl::Seconds(5);

}  // namespace

Statement ReadUpdatesStatement(uint64_t after, int limit) {
  return Statement{kReadUpdates, {Param::Int(static_cast<int64_t>(after)), Param::Int(limit)}};
}

absl::StatusOr<std::vector<DeliveryUpdate>> DecodeUpdates(const Rows& rows) {
  std::vector<DeliveryUpdate> updates;
  updates.reserve(static_cast<size_t>(rows.size()));
  for (int row = 0; row < rows.size(); ++row) {
    DeliveryUpdate update;
    update.sequence = static_cast<uint64_t>(rows.Int(row, 0));
    DeliveryUpdateRecord record;
    WINK_RETURN_IF_ERROR(
        DecodeRecord(rows.Bytes(row, 1), kUpdateRecordVersion, "delivery update", record));
    update.delivery = std::move(*record.mutable_delivery());
    updates.push_back(std::move(update));
  }
  return updates;
}

UpdateFeed::UpdateFeed(std::string conninfo, UpdateListeners& listeners, uint64_t last_sequence,
                       std::string origin)
    : conninfo_(std::move(conninfo)),
      listeners_(listeners),
      origin_(std::move(origin)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      told_(last_sequence) {
  thread_ = std::thread([this] {
    NameThisThread("wink-pg-feed");
    Loop();
  });
}

UpdateFeed::~UpdateFeed() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void UpdateFeed::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  Wake();
  if (thread_.joinable()) thread_.join();
}

Statement UpdateFeed::NotifyUpdatesStatement() const {
  return Statement{kNotify, {Param::Text(kUpdatesChannel), Param::Text(origin_)}};
}

Statement UpdateFeed::NotifyWebhookDeletedStatement(const std::string& webhook_id) const {
  return Statement{kNotify,
                   {Param::Text(kWebhookDeletedChannel), Param::Text(origin_ + " " + webhook_id)}};
}

Statement UpdateFeed::NotifyApplicationChangedStatement(absl::string_view account,
                                                        absl::string_view id) const {
  return Statement{kNotify,
                   {Param::Text(kApplicationChangedChannel),
                    Param::Text(absl::StrCat(origin_, " ", account, "/", id))}};
}

void UpdateFeed::SetApplicationChangeListener(ApplicationChangeListener listener) {
  absl::MutexLock lock(&application_listener_mu_);
  application_listener_ = std::move(listener);
}

bool UpdateFeed::WaitUntilListening(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto listening = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return listening_ || stopping_; };
  return mu_.AwaitWithTimeout(absl::Condition(&listening), timeout) && listening_;
}

uint64_t UpdateFeed::last_sequence() const {
  absl::MutexLock lock(&mu_);
  return told_;
}

void UpdateFeed::OnLocalCommit(uint64_t first_sequence,
                               std::vector<domain::DeliveryRecord> updates) {
  bool gap = false;
  {
    absl::MutexLock lock(&mu_);
    for (size_t k = 0; k < updates.size(); ++k) {
      TellLocked(DeliveryUpdate{first_sequence + k, std::move(updates[k])});
    }
    gap = !waiting_.empty();
  }
  // Another node's commit took the numbers in between: read them now
  // rather than when its notification arrives.
  if (gap) Wake();
}

void UpdateFeed::TellLocked(DeliveryUpdate update) {
  if (update.sequence <= told_) return;  // read from the table already
  if (update.sequence > told_ + 1) {
    waiting_.emplace(update.sequence, std::move(update.delivery));
    return;
  }
  listeners_.NotifyUpdate(update);
  told_ = update.sequence;
  while (!waiting_.empty() && waiting_.begin()->first <= told_ + 1) {
    auto next = waiting_.extract(waiting_.begin());
    if (next.key() == told_ + 1) {
      listeners_.NotifyUpdate(DeliveryUpdate{next.key(), std::move(next.mapped())});
      told_ = next.key();
    }
  }
}

absl::Status UpdateFeed::CatchUp(Connection& connection) {
  while (true) {
    WINK_ASSIGN_OR_RETURN(const Rows rows,
                          connection.RunOne(ReadUpdatesStatement(last_sequence(), kCatchUpBatch)));
    WINK_ASSIGN_OR_RETURN(std::vector<DeliveryUpdate> updates, DecodeUpdates(rows));
    absl::MutexLock lock(&mu_);
    if (!updates.empty() && updates.front().sequence > told_ + 1) {
      // Cannot happen while numbers are taken at commit; never wedge the
      // feed on it: say so and go on from what exists.
      LogLine(LogLevel::kError, "update_feed_gap")
          .Field("after", static_cast<int64_t>(told_))
          .Field("next", static_cast<int64_t>(updates.front().sequence));
      told_ = updates.front().sequence - 1;
    }
    for (DeliveryUpdate& update : updates) TellLocked(std::move(update));
    if (updates.size() < static_cast<size_t>(kCatchUpBatch)) return absl::OkStatus();
  }
}

void UpdateFeed::TellDeletions(const std::vector<Connection::Notification>& notifications) {
  for (const Connection::Notification& notification : notifications) {
    if (notification.channel != kWebhookDeletedChannel) continue;
    const std::pair<absl::string_view, absl::string_view> origin_and_id =
        absl::StrSplit(notification.payload, absl::MaxSplits(' ', 1));
    // This node told its listeners when its own delete committed.
    if (origin_and_id.first == origin_ || origin_and_id.second.empty()) continue;
    listeners_.NotifyWebhookDeleted(std::string(origin_and_id.second));
  }
}

void UpdateFeed::TellApplicationChanges(
    const std::vector<Connection::Notification>& notifications) {
  ApplicationChangeListener listener;
  for (const Connection::Notification& notification : notifications) {
    if (notification.channel != kApplicationChangedChannel) continue;
    const std::pair<absl::string_view, absl::string_view> origin_and_name =
        absl::StrSplit(notification.payload, absl::MaxSplits(' ', 1));
    // The committing process's own callers saw the change already.
    if (origin_and_name.first == origin_) continue;
    const absl::string_view name = origin_and_name.second;
    const size_t slash = name.rfind('/');
    if (slash == absl::string_view::npos || slash + 1 == name.size()) {
      LogLine(LogLevel::kWarning, "application_notice_malformed")
          .Field("payload", notification.payload);
      continue;
    }
    if (!listener) {
      absl::MutexLock lock(&application_listener_mu_);
      listener = application_listener_;
      if (!listener) return;
    }
    listener(std::string(name.substr(0, slash)), std::string(name.substr(slash + 1)));
  }
}

void UpdateFeed::Wake() {
  const uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof(one));
}

void UpdateFeed::Loop() {
  std::unique_ptr<Connection> connection;
  absl::Duration backoff = absl::ZeroDuration();
  bool catch_up = true;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    absl::Status status = absl::OkStatus();
    if (connection == nullptr) {
      auto opened = Connection::Open(conninfo_);
      status = opened.status();
      if (opened.ok()) {
        status = (*opened)->Execute(absl::StrCat("LISTEN ", kUpdatesChannel, "; LISTEN ",
                                                 kWebhookDeletedChannel, "; LISTEN ",
                                                 kApplicationChangedChannel));
        if (status.ok()) {
          connection = std::move(*opened);
          absl::MutexLock lock(&mu_);
          listening_ = true;
        }
      }
      // Whatever committed while nobody listened.
      catch_up = true;
    }
    if (status.ok() && catch_up) status = CatchUp(*connection);
    absl::StatusOr<std::vector<Connection::Notification>> notifications;
    if (status.ok()) {
      notifications = connection->TakeNotifications();
      status = notifications.status();
    }
    if (!status.ok()) {
      connection.reset();
      {
        absl::MutexLock lock(&mu_);
        listening_ = false;
      }
      backoff = std::min(kMaxReconnectBackoff, std::max(absl::Milliseconds(100), backoff * 2));
      LogLine(LogLevel::kWarning, "update_feed_unavailable")
          .Field("error", status.message())
          .Field("retry_in", absl::FormatDuration(backoff));
    } else {
      backoff = absl::ZeroDuration();
    }

    catch_up = false;
    if (status.ok() && !notifications->empty()) {
      TellDeletions(*notifications);
      TellApplicationChanges(*notifications);
      for (const Connection::Notification& notification : *notifications) {
        // Another node appended updates. This node's own commits were told
        // by the writer, unless they left a gap, which also wakes us.
        if (notification.channel == kUpdatesChannel && notification.payload != origin_) {
          catch_up = true;
        }
      }
      if (catch_up) continue;
    }

    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {connection ? connection->socket() : -1, POLLIN, 0}};
    const absl::Duration wait = status.ok() ? kBackstopInterval : backoff;
    const int ready = poll(fds, 2, static_cast<int>(absl::ToInt64Milliseconds(wait)));
    if (ready == 0) {
      catch_up = true;  // the backstop
    } else if (fds[0].revents & POLLIN) {
      uint64_t count = 0;
      (void)!read(wake_fd_, &count, sizeof(count));
      catch_up = true;
    }
    // Input on the socket: the next turn takes the notifications.
  }
}

}  // namespace wink::webhooks::storage::pg
