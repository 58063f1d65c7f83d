// Keeps the key registry (auth/key_registry.h) in step with the application
// store (storage/application_store.h), so that a key works from the moment
// its create commits and stops the moment its revoke, delete or rotation
// commits.
//
// - At start, Load() installs every stored application.
// - Changes made through this directory are written, then installed, under
//   one lock; reloads read and install under the same lock, so a reload can
//   never install a record older than a change already installed.
// - Other nodes' changes (a shared PostgreSQL store) arrive through the
//   store's remote-change listener and are reloaded on the directory's own
//   thread, typically within milliseconds; with `full_reload_interval` set,
//   everything is also reloaded that often, in case a notice was lost.
// - Key uses are recorded (ApplicationRecord.last_used_time_us) on the same
//   thread, never on the caller's.
//
// Thread-safe.
#ifndef WINK_WEBHOOKS_SERVICE_API_APPLICATION_DIRECTORY_H_
#define WINK_WEBHOOKS_SERVICE_API_APPLICATION_DIRECTORY_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "service/auth/key_registry.h"
#include "service/common/clock.h"
#include "service/common/serial_executor.h"
#include "service/storage/application_store.h"

namespace wink::webhooks::api {

// The registry's view of a stored application: each key's validity with
// the application's revocation and expiry folded in.
auth::ApplicationCredentials CredentialsOf(const storage::ApplicationRecord& record);

struct ApplicationDirectoryOptions {
  // How often to reload every application; zero: never (a store no other
  // node writes to).
  absl::Duration full_reload_interval = absl::ZeroDuration();
};

class ApplicationDirectory {
 public:
  // `store`, `keys` and `clock` must outlive the directory. Listens to the
  // store's remote changes from construction on.
  ApplicationDirectory(storage::ApplicationStore& store, auth::KeyRegistry& keys,
                       const Clock& clock, ApplicationDirectoryOptions options);
  // Stops the directory's threads; remote notices after this are ignored.
  ~ApplicationDirectory();

  ApplicationDirectory(const ApplicationDirectory&) = delete;
  ApplicationDirectory& operator=(const ApplicationDirectory&) = delete;

  // Installs every stored application (replacing what the registry held).
  absl::Status Load() ABSL_LOCKS_EXCLUDED(mu_);

  // As ApplicationStore's, then installs the result in the registry.
  absl::Status Create(const storage::ApplicationRecord& record) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<storage::ApplicationRecord> Update(
      absl::string_view account, absl::string_view id,
      const std::function<absl::Status(storage::ApplicationRecord&)>& mutate)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Delete(absl::string_view account, absl::string_view id) ABSL_LOCKS_EXCLUDED(mu_);

  // Records, later and on the directory's thread, that a key of the
  // application was accepted at `when` (a failure is logged and dropped:
  // the field is advisory).
  void RecordUse(const std::string& account, const std::string& id, absl::Time when);

 private:
  // Shared with the store's listener, which may outlive the directory.
  struct Gate {
    absl::Mutex mu;
    ApplicationDirectory* directory ABSL_GUARDED_BY(mu) = nullptr;
  };

  void Reload(const std::string& account, const std::string& id) ABSL_LOCKS_EXCLUDED(mu_);
  void ReloadEveryInterval();

  storage::ApplicationStore& store_;
  auth::KeyRegistry& keys_;
  const Clock& clock_;
  const ApplicationDirectoryOptions options_;
  // Held across each store write or read and the install that follows.
  absl::Mutex mu_;
  std::shared_ptr<Gate> gate_;
  SerialExecutor executor_;
  absl::Mutex stop_mu_;
  bool stopping_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread reloader_;
};

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_APPLICATION_DIRECTORY_H_
