// Reads the event type out of a Standard Webhooks payload,
//   {"type": "booking.created", "timestamp": "...", "data": {...}}
// (Wink Webhooks adds "id" and "account_id"). A real receiver would parse
// the body with its JSON library after verifying it; this example has no
// JSON dependency, so it scans just enough JSON to find the top-level "type".
#ifndef WINK_WEBHOOKS_CLIENT_EXAMPLES_RECEIVER_EVENT_TYPE_H_
#define WINK_WEBHOOKS_CLIENT_EXAMPLES_RECEIVER_EVENT_TYPE_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace wink::webhooks::example {

// The value of the top-level "type" member if `body` is one JSON object
// (surrounding whitespace allowed) whose "type" is a non-empty string;
// otherwise nullopt. Nesting deeper than 64 levels counts as malformed.
// Escapes are decoded; characters outside ASCII written as \u escapes
// become '?'. Not a validator: numbers and literals are only checked for
// their characters.
std::optional<std::string> EventType(absl::string_view body);

}  // namespace wink::webhooks::example

#endif  // WINK_WEBHOOKS_CLIENT_EXAMPLES_RECEIVER_EVENT_TYPE_H_
