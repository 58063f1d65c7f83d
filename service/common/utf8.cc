#include "service/common/utf8.h"

#include <cstdint>

namespace wink::webhooks {

bool IsValidUtf8(absl::string_view text) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const auto* const end = p + text.size();
  while (p < end) {
    const uint8_t lead = *p;
    if (lead < 0x80) {
      ++p;
      continue;
    }
    int length;
    uint32_t min_code_point;
    uint32_t code_point;
    if ((lead & 0xe0) == 0xc0) {
      length = 2, min_code_point = 0x80, code_point = lead & 0x1f;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3, min_code_point = 0x800, code_point = lead & 0x0f;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4, min_code_point = 0x10000, code_point = lead & 0x07;
    } else {
      return false;  // continuation byte or 0xf8.. without a lead
    }
    if (end - p < length) return false;
    for (int i = 1; i < length; ++i) {
      if ((p[i] & 0xc0) != 0x80) return false;
      code_point = (code_point << 6) | (p[i] & 0x3f);
    }
    if (code_point < min_code_point || code_point > 0x10ffff ||
        (code_point >= 0xd800 && code_point <= 0xdfff)) {
      return false;
    }
    p += length;
  }
  return true;
}

size_t CountCodePoints(absl::string_view text) {
  size_t count = 0;
  for (char c : text) {
    if ((static_cast<uint8_t>(c) & 0xc0) != 0x80) ++count;
  }
  return count;
}

}  // namespace wink::webhooks
