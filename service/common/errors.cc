#include "service/common/errors.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace wink::webhooks {

absl::Status InvalidField(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

std::string QuoteForError(absl::string_view value, size_t max_bytes) {
  return absl::StrCat("\"", absl::CHexEscape(value.substr(0, max_bytes)),
                      value.size() > max_bytes ? "..." : "", "\"");
}

}  // namespace wink::webhooks
