#include "service/api/event_catalog.h"

#include <algorithm>

#include "absl/strings/str_join.h"

namespace wink::webhooks::api {

EventCatalog::EventCatalog(const config::ServerConfig& config) {
  for (const auto& type : config.event_types()) {
    entries_.push_back({type.name(), type.description()});
    names_.insert(type.name());
  }
  std::sort(entries_.begin(), entries_.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });
  names_list_ = absl::StrJoin(
      entries_, ", ", [](std::string* out, const Entry& entry) { out->append(entry.name); });
}

}  // namespace wink::webhooks::api
