// UTF-8 checks for user-supplied text.
#ifndef WINK_WEBHOOKS_SERVICE_COMMON_UTF8_H_
#define WINK_WEBHOOKS_SERVICE_COMMON_UTF8_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace wink::webhooks {

// True if `text` is well-formed UTF-8 (no overlong forms, no surrogates, no
// code points above U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// Number of code points in `text`, which must be valid UTF-8.
size_t CountCodePoints(absl::string_view text);

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_COMMON_UTF8_H_
