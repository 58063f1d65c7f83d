#include "service/common/json.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace wink::webhooks {
namespace {

// Bytes that can be skipped inside a string without a closer look: printable
// ASCII other than '"' and '\'. Everything else ends the fast loop.
constexpr std::array<bool, 256> MakePlainTable() {
  std::array<bool, 256> table{};
  for (int c = 0x20; c < 0x80; ++c) table[c] = c != '"' && c != '\\';
  return table;
}
constexpr std::array<bool, 256> kPlain = MakePlainTable();

bool IsDigit(uint8_t c) { return c >= '0' && c <= '9'; }

int HexValue(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Single-pass validator. Each Scan* method starts at the first byte of its
// token (bounds already checked) and on success leaves p_ just past it; on
// failure it records the error and returns false.
class Checker {
 public:
  Checker(absl::string_view json, absl::string_view field)
      : begin_(reinterpret_cast<const uint8_t*>(json.data())),
        end_(begin_ + json.size()),
        p_(begin_),
        field_(field) {}

  // OK iff the whole input is one JSON object nested at most `max_depth` deep.
  absl::Status Run(int max_depth) {
    SkipWhitespace();
    if (p_ < end_ && *p_ != '{') {
      return absl::InvalidArgumentError(absl::StrCat(field_, ": top level must be a JSON object"));
    }
    return ScanDocument(max_depth) ? absl::OkStatus() : error_;
  }

 private:
  // States of the main loop: what may come next.
  enum class Next { kValue, kKey, kAfterValue };

  bool Fail(absl::string_view what, const uint8_t* at) {
    error_ = absl::InvalidArgumentError(absl::StrCat(field_, ": ", what, " at byte ", at - begin_));
    return false;
  }
  bool FailEof() { return Fail("unexpected end of input", end_); }

  void SkipWhitespace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool ScanDocument(int max_depth);
  bool ScanString();
  bool ScanEscape(const uint8_t* quote);
  bool ScanUtf8Sequence();
  bool ScanNumber();
  bool ScanLiteral(absl::string_view literal);
  // Reads the four hex digits after "\u" at `at`; -1 if absent or not hex.
  int ReadHex4(const uint8_t* at) const;

  const uint8_t* const begin_;
  const uint8_t* const end_;
  const uint8_t* p_;
  const absl::string_view field_;
  absl::Status error_;
};

// Iterative, so the depth limit (not the C++ stack) bounds nesting.
bool Checker::ScanDocument(int max_depth) {
  // The open containers, innermost last: '{' or '['.
  std::string open;
  Next next = Next::kValue;
  while (true) {
    switch (next) {
      case Next::kValue: {
        SkipWhitespace();
        if (p_ == end_) return FailEof();
        const uint8_t c = *p_;
        if (c == '{' || c == '[') {
          if (static_cast<int>(open.size()) >= max_depth) {
            return Fail(absl::StrCat("nesting deeper than ", max_depth), p_);
          }
          open.push_back(static_cast<char>(c));
          ++p_;
          SkipWhitespace();
          if (p_ < end_ && *p_ == (c == '{' ? '}' : ']')) {
            ++p_;
            open.pop_back();
            next = Next::kAfterValue;
          } else {
            next = c == '{' ? Next::kKey : Next::kValue;
          }
          continue;
        }
        bool ok;
        if (c == '"') {
          ok = ScanString();
        } else if (c == '-' || IsDigit(c)) {
          ok = ScanNumber();
        } else if (c == 't') {
          ok = ScanLiteral("true");
        } else if (c == 'f') {
          ok = ScanLiteral("false");
        } else if (c == 'n') {
          ok = ScanLiteral("null");
        } else {
          ok = Fail("expected a value", p_);
        }
        if (!ok) return false;
        next = Next::kAfterValue;
        continue;
      }
      case Next::kKey:
        SkipWhitespace();
        if (p_ == end_) return FailEof();
        if (*p_ != '"') return Fail("expected a string key", p_);
        if (!ScanString()) return false;
        SkipWhitespace();
        if (p_ == end_) return FailEof();
        if (*p_ != ':') return Fail("expected ':'", p_);
        ++p_;
        next = Next::kValue;
        continue;
      case Next::kAfterValue:
        SkipWhitespace();
        if (open.empty()) {
          if (p_ != end_) return Fail("unexpected data after the JSON object", p_);
          return true;
        }
        if (p_ == end_) return FailEof();
        if (open.back() == '{') {
          if (*p_ == ',') {
            ++p_;
            next = Next::kKey;
          } else if (*p_ == '}') {
            ++p_;
            open.pop_back();
          } else {
            return Fail("expected ',' or '}'", p_);
          }
        } else {
          if (*p_ == ',') {
            ++p_;
            next = Next::kValue;
          } else if (*p_ == ']') {
            ++p_;
            open.pop_back();
          } else {
            return Fail("expected ',' or ']'", p_);
          }
        }
        continue;
    }
  }
}

bool Checker::ScanString() {
  const uint8_t* const quote = p_;
  ++p_;
  while (true) {
    while (p_ < end_ && kPlain[*p_]) ++p_;
    if (p_ == end_) return Fail("unterminated string", quote);
    const uint8_t c = *p_;
    if (c == '"') {
      ++p_;
      return true;
    }
    if (c == '\\') {
      if (!ScanEscape(quote)) return false;
    } else if (c < 0x20) {
      return Fail("unescaped control character in string", p_);
    } else if (!ScanUtf8Sequence()) {
      return false;
    }
  }
}

int Checker::ReadHex4(const uint8_t* at) const {
  if (end_ - at < 4) return -1;
  int value = 0;
  for (int i = 0; i < 4; ++i) {
    const int digit = HexValue(at[i]);
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

bool Checker::ScanEscape(const uint8_t* quote) {
  const uint8_t* const backslash = p_;
  if (end_ - p_ < 2) return Fail("unterminated string", quote);
  switch (p_[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
      p_ += 2;
      return true;
    case 'u':
      break;
    default:
      return Fail("invalid escape", backslash);
  }
  const int unit = ReadHex4(p_ + 2);
  if (unit < 0) return Fail("invalid \\u escape", backslash);
  p_ += 6;
  if (unit >= 0xdc00 && unit <= 0xdfff) return Fail("unpaired surrogate escape", backslash);
  if (unit < 0xd800 || unit > 0xdbff) return true;
  // A high surrogate: only a low-surrogate escape may follow.
  if (end_ - p_ < 6 || p_[0] != '\\' || p_[1] != 'u') {
    return Fail("unpaired surrogate escape", backslash);
  }
  const int low = ReadHex4(p_ + 2);
  if (low < 0) return Fail("invalid \\u escape", p_);
  if (low < 0xdc00 || low > 0xdfff) return Fail("unpaired surrogate escape", backslash);
  p_ += 6;
  return true;
}

// Well-formed sequences per the Unicode Standard, Table 3-7; the ranges of
// the second byte exclude overlong forms, surrogates and code points above
// U+10FFFF.
bool Checker::ScanUtf8Sequence() {
  const uint8_t lead = *p_;
  int length;
  uint8_t second_min = 0x80;
  uint8_t second_max = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) second_min = 0xa0;  // overlong
    if (lead == 0xed) second_max = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) second_min = 0x90;  // overlong
    if (lead == 0xf4) second_max = 0x8f;  // above U+10FFFF
  } else {
    return Fail("invalid UTF-8", p_);
  }
  if (end_ - p_ < length || p_[1] < second_min || p_[1] > second_max) {
    return Fail("invalid UTF-8", p_);
  }
  for (int i = 2; i < length; ++i) {
    if (p_[i] < 0x80 || p_[i] > 0xbf) return Fail("invalid UTF-8", p_);
  }
  p_ += length;
  return true;
}

bool Checker::ScanNumber() {
  const uint8_t* const start = p_;
  if (*p_ == '-') ++p_;
  if (p_ == end_ || !IsDigit(*p_)) return Fail("invalid number", start);
  if (*p_ == '0') {
    ++p_;
    if (p_ < end_ && IsDigit(*p_)) return Fail("leading zero in number", start);
  } else {
    while (p_ < end_ && IsDigit(*p_)) ++p_;
  }
  if (p_ < end_ && *p_ == '.') {
    ++p_;
    if (p_ == end_ || !IsDigit(*p_)) return Fail("invalid number", start);
    while (p_ < end_ && IsDigit(*p_)) ++p_;
  }
  if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
    ++p_;
    if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
    if (p_ == end_ || !IsDigit(*p_)) return Fail("invalid number", start);
    while (p_ < end_ && IsDigit(*p_)) ++p_;
  }
  return true;
}

bool Checker::ScanLiteral(absl::string_view literal) {
  if (static_cast<size_t>(end_ - p_) < literal.size() ||
      std::memcmp(p_, literal.data(), literal.size()) != 0) {
    return Fail("invalid literal", p_);
  }
  p_ += literal.size();
  return true;
}

}  // namespace

absl::Status CheckJsonObject(absl::string_view json, absl::string_view field, int max_depth) {
  return Checker(json, field).Run(max_depth);
}

void AppendJsonString(std::string& out, absl::string_view utf8) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + utf8.size() + 2);
  out.push_back('"');
  size_t run_start = 0;  // bytes [run_start, i) are copied unchanged
  for (size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<uint8_t>(utf8[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(utf8.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\b':
        out.append("\\b");
        break;
      case '\f':
        out.append("\\f");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        out.append("\\u00");
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
    }
  }
  out.append(utf8.data() + run_start, utf8.size() - run_start);
  out.push_back('"');
}

}  // namespace wink::webhooks
