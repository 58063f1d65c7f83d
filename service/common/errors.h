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

// Longest error message the service sends or logs (CutErrorMessage).
inline constexpr size_t kMaxErrorMessageBytes = 1024;

// `message` cut to at most `max_bytes` (at a UTF-8 character boundary) with
// " ... (N bytes cut)" appended when it was longer: errors echo caller input,
// and a 900 KB field must not become a 900 KB error or log line.
std::string CutErrorMessage(absl::string_view message,
                            size_t max_bytes = kMaxErrorMessageBytes);

// `value` as it may appear in an error message: in double quotes, C-escaped
// (so control bytes and invalid UTF-8 cannot garble a log line), cut after
// `max_bytes` with "...". Never pass secrets or header values.
std::string QuoteForError(absl::string_view value, size_t max_bytes = 80);

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_COMMON_ERRORS_H_
