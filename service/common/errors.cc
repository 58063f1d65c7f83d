#include "service/common/errors.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace wink::webhooks {

absl::Status InvalidField(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

std::string CutErrorMessage(absl::string_view message, size_t max_bytes) {
  if (message.size() <= max_bytes) return std::string(message);
  size_t cut = max_bytes;
  // Back off continuation bytes (10xxxxxx) so no character is split.
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat(message.substr(0, cut), " ... (", message.size() - cut, " bytes cut)");
}

std::string QuoteForError(absl::string_view value, size_t max_bytes) {
  return absl::StrCat("\"", absl::CHexEscape(value.substr(0, max_bytes)),
                      value.size() > max_bytes ? "..." : "", "\"");
}

}  // namespace wink::webhooks
