// The event types webhooks can subscribe to, from the server config.
#ifndef WINK_WEBHOOKS_SERVICE_API_EVENT_CATALOG_H_
#define WINK_WEBHOOKS_SERVICE_API_EVENT_CATALOG_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "service/config/server_config.h"

namespace wink::webhooks::api {

// Immutable; thread-safe.
class EventCatalog {
 public:
  struct Entry {
    std::string name;
    std::string description;
  };

  // `config` must be validated (unique, well-formed names).
  explicit EventCatalog(const config::ServerConfig& config);

  bool Contains(absl::string_view name) const { return names_.contains(name); }
  // All entries, sorted by name.
  const std::vector<Entry>& entries() const { return entries_; }
  // "booking.cancelled, booking.created, ..." for error messages.
  const std::string& names_list() const { return names_list_; }

 private:
  std::vector<Entry> entries_;
  absl::flat_hash_set<std::string> names_;
  std::string names_list_;
};

}  // namespace wink::webhooks::api

#endif  // WINK_WEBHOOKS_SERVICE_API_EVENT_CATALOG_H_
