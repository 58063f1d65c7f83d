// Building the caller-facing error messages of the service. Every
// INVALID_ARGUMENT starts with the path of the offending field, so a caller
// (or a config author) knows what to fix without reading the server log.
#ifndef WINK_WEBHOOKS_SERVICE_COMMON_ERRORS_H_
#define WINK_WEBHOOKS_SERVICE_COMMON_ERRORS_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace wink::webhooks {

// INVALID_ARGUMENT "<field>: <why>".
absl::Status InvalidField(absl::string_view field, absl::string_view why);

// `value` as it may appear in an error message: in double quotes, C-escaped
// (so control bytes and invalid UTF-8 cannot garble a log line), cut after
// `max_bytes` with "...". Never pass secrets or header values.
std::string QuoteForError(absl::string_view value, size_t max_bytes = 80);

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_COMMON_ERRORS_H_
