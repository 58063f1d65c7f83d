// Applications (API credentials): what the API's application methods and the
// authenticator's key registry need of storage.
//
// A store holds records, not keys: an application's keys are SHA-256 hashes
// (ApplicationRecord.keys), and finding the application a presented key
// belongs to is the key registry's job (auth/key_registry.h), which loads
// every record at start (ListAll) and reloads the ones that change.
//
// Every mutation is atomic and durable when the call returns. Stores shared
// by several nodes (PostgreSQL) tell each node about the changes the others
// commit (SetRemoteChangeListener), so a revoked key stops working on every
// node. Implementations are thread-safe.
#ifndef WINK_WEBHOOKS_SERVICE_STORAGE_APPLICATION_STORE_H_
#define WINK_WEBHOOKS_SERVICE_STORAGE_APPLICATION_STORE_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::storage {

using ::wink::webhooks::internal::v1::ApplicationRecord;

// Most applications one account may hold.
inline constexpr int kMaxApplicationsPerAccount = 100;

// A place in the list of every account's applications (ListAll).
struct ApplicationPosition {
  std::string account;
  std::string id;
};

struct ApplicationPage {
  std::vector<ApplicationRecord> applications;
  // True if applications after the last returned one exist.
  bool has_more = false;
};

class ApplicationStore {
 public:
  virtual ~ApplicationStore() = default;

  // Stores `application` as given (account, id and every field set by the
  // caller; `version` is set here). ALREADY_EXISTS if the account has an
  // application with that id; RESOURCE_EXHAUSTED if it already has
  // kMaxApplicationsPerAccount.
  virtual absl::Status Create(ApplicationRecord application) = 0;

  // NOT_FOUND if the account has no such application.
  virtual absl::StatusOr<ApplicationRecord> Get(absl::string_view account,
                                                absl::string_view id) = 0;

  // Up to `limit` (>= 1) applications of `account` in id order, after
  // `after_id` (empty: from the first).
  virtual absl::StatusOr<ApplicationPage> List(absl::string_view account,
                                               absl::string_view after_id, int limit) = 0;

  // Up to `limit` (>= 1) applications of every account, by account then id,
  // after `after` (nullopt: from the first). For loading the key registry.
  virtual absl::StatusOr<ApplicationPage> ListAll(const std::optional<ApplicationPosition>& after,
                                                  int limit) = 0;

  // Reads the application, lets `mutate` change it and writes it back,
  // atomically; returns it as written. `mutate` runs inside the write (keep
  // it short); if it returns an error nothing is written and that error is
  // returned. `mutate` must not change account or id. NOT_FOUND if it does
  // not exist.
  virtual absl::StatusOr<ApplicationRecord> Update(
      absl::string_view account, absl::string_view id,
      const std::function<absl::Status(ApplicationRecord&)>& mutate) = 0;

  // Removes the application for good. NOT_FOUND if it does not exist.
  virtual absl::Status Delete(absl::string_view account, absl::string_view id) = 0;

  // `listener(account, id)` is called, on a thread of the store's, after
  // another node sharing the store commits a change of that application
  // (create, update or delete), typically within milliseconds. A change
  // whose notice was lost (a connection down) is not told: callers also
  // reload everything now and then. Stores no other node shares never call
  // it. Call once, before the store is used; the listener must outlive the
  // store's use of it (until the backend is destroyed).
  using RemoteChangeListener = std::function<void(const std::string& account, const std::string& id)>;
  virtual void SetRemoteChangeListener(RemoteChangeListener listener) { (void)listener; }
};

}  // namespace wink::webhooks::storage

#endif  // WINK_WEBHOOKS_SERVICE_STORAGE_APPLICATION_STORE_H_
