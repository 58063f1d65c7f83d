#include "service/api/application_directory.h"

#include <optional>
#include <utility>
#include <vector>

#include "service/common/log.h"
#include "service/common/status_macros.h"
#include "service/common/thread_name.h"

namespace wink::webhooks::api {
namespace {

constexpr int kLoadPageSize = 500;

absl::Time TimeOrNever(int64_t unix_micros) {
  return unix_micros != 0 ? absl::FromUnixMicros(unix_micros) : absl::InfiniteFuture();
}

}  // namespace

auth::ApplicationCredentials CredentialsOf(const storage::ApplicationRecord& record) {
  auth::ApplicationCredentials credentials;
  credentials.account = record.account();
  credentials.id = record.id();
  for (const int scope : record.scopes()) credentials.scopes |= 1u << scope;
  const absl::Time application_end =
      std::min(TimeOrNever(record.revoke_time_us()), TimeOrNever(record.expire_time_us()));
  for (const auto& key : record.keys()) {
    credentials.keys.push_back(
        {key.sha256(), std::min(application_end, TimeOrNever(key.expire_time_us()))});
  }
  return credentials;
}

ApplicationDirectory::ApplicationDirectory(storage::ApplicationStore& store,
                                           auth::KeyRegistry& keys, const Clock& clock,
                                           ApplicationDirectoryOptions options)
    : store_(store),
      keys_(keys),
      clock_(clock),
      options_(options),
      gate_(std::make_shared<Gate>()),
      executor_("wink-apps") {
  {
    absl::MutexLock lock(&gate_->mu);
    gate_->directory = this;
  }
  store_.SetRemoteChangeListener(
      [gate = gate_](const std::string& account, const std::string& id) {
        absl::MutexLock lock(&gate->mu);
        if (gate->directory == nullptr) return;
        ApplicationDirectory* directory = gate->directory;
        directory->executor_.Post({[directory, account, id] { directory->Reload(account, id); }});
      });
  if (options_.full_reload_interval > absl::ZeroDuration()) {
    reloader_ = std::thread([this] { ReloadEveryInterval(); });
  }
}

ApplicationDirectory::~ApplicationDirectory() {
  {
    absl::MutexLock lock(&gate_->mu);
    gate_->directory = nullptr;
  }
  {
    absl::MutexLock lock(&stop_mu_);
    stopping_ = true;
  }
  if (reloader_.joinable()) reloader_.join();
  executor_.Stop();
}

absl::Status ApplicationDirectory::Load() {
  absl::MutexLock lock(&mu_);
  std::vector<auth::ApplicationCredentials> all;
  std::optional<storage::ApplicationPosition> after;
  while (true) {
    WINK_ASSIGN_OR_RETURN(const storage::ApplicationPage page,
                          store_.ListAll(after, kLoadPageSize));
    for (const auto& record : page.applications) all.push_back(CredentialsOf(record));
    if (!page.has_more || page.applications.empty()) break;
    after = storage::ApplicationPosition{page.applications.back().account(),
                                         page.applications.back().id()};
  }
  keys_.ReplaceAll(all);
  return absl::OkStatus();
}

absl::Status ApplicationDirectory::Create(const storage::ApplicationRecord& record) {
  absl::MutexLock lock(&mu_);
  WINK_RETURN_IF_ERROR(store_.Create(record));
  keys_.Install(CredentialsOf(record));
  return absl::OkStatus();
}

absl::StatusOr<storage::ApplicationRecord> ApplicationDirectory::Update(
    absl::string_view account, absl::string_view id,
    const std::function<absl::Status(storage::ApplicationRecord&)>& mutate) {
  absl::MutexLock lock(&mu_);
  WINK_ASSIGN_OR_RETURN(storage::ApplicationRecord updated, store_.Update(account, id, mutate));
  keys_.Install(CredentialsOf(updated));
  return updated;
}

absl::Status ApplicationDirectory::Delete(absl::string_view account, absl::string_view id) {
  absl::MutexLock lock(&mu_);
  const absl::Status deleted = store_.Delete(account, id);
  // NOT_FOUND too: whatever the registry still held of it is stale.
  if (deleted.ok() || absl::IsNotFound(deleted)) keys_.Remove(account, id);
  return deleted;
}

void ApplicationDirectory::RecordUse(const std::string& account, const std::string& id,
                                     absl::Time when) {
  executor_.Post({[this, account, id, when] {
    const int64_t when_us = absl::ToUnixMicros(when);
    const auto recorded =
        store_.Update(account, id, [when_us](storage::ApplicationRecord& record) {
          if (record.last_used_time_us() >= when_us) {
            return absl::AlreadyExistsError("a later use is recorded");
          }
          record.set_last_used_time_us(when_us);
          return absl::OkStatus();
        });
    if (!recorded.ok() && !absl::IsAlreadyExists(recorded.status()) &&
        !absl::IsNotFound(recorded.status())) {
      LogLine(LogLevel::kWarning, "application_use_not_recorded")
          .Field("account", account)
          .Field("application", id)
          .Field("error", recorded.status().message());
    }
  }});
}

void ApplicationDirectory::Reload(const std::string& account, const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto record = store_.Get(account, id);
  if (record.ok()) {
    keys_.Install(CredentialsOf(*record));
  } else if (absl::IsNotFound(record.status())) {
    keys_.Remove(account, id);
  } else {
    // The periodic reload (or the next notice) catches up.
    LogLine(LogLevel::kWarning, "application_reload_failed")
        .Field("account", account)
        .Field("application", id)
        .Field("error", record.status().message());
  }
}

void ApplicationDirectory::ReloadEveryInterval() {
  NameThisThread("wink-apps-load");
  while (true) {
    {
      absl::MutexLock lock(&stop_mu_);
      const auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(stop_mu_) { return stopping_; };
      stop_mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.full_reload_interval);
      if (stopping_) return;
    }
    const absl::Status loaded = Load();
    if (!loaded.ok()) {
      LogLine(LogLevel::kWarning, "application_reload_failed").Field("error", loaded.message());
    }
  }
}

}  // namespace wink::webhooks::api
