#include "client/examples/receiver/event_type.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"

namespace wink::webhooks::example {
namespace {

constexpr int kMaxDepth = 64;

// A cursor over JSON text. Each method skips leading whitespace and returns
// false, without a promise about the position, when the text does not fit.
class JsonScanner {
 public:
  explicit JsonScanner(absl::string_view text) : text_(text) {}

  bool Consume(char c) {
    SkipSpace();
    if (pos_ >= text_.size() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }

  bool AtEnd() {
    SkipSpace();
    return pos_ == text_.size();
  }

  // A string, unescaped into `out`.
  bool String(std::string* out) {
    if (!Consume('"')) return false;
    out->clear();
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;  // raw control character
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) return false;
      const char escape = text_[pos_++];
      switch (escape) {
        case '"':
        case '\\':
        case '/':
          out->push_back(escape);
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          int code = 0;
          for (int i = 0; i < 4; ++i) {
            if (pos_ >= text_.size() || !absl::ascii_isxdigit(text_[pos_])) return false;
            const char h = absl::ascii_tolower(text_[pos_++]);
            code = code * 16 + (absl::ascii_isdigit(h) ? h - '0' : h - 'a' + 10);
          }
          out->push_back(code < 0x80 ? static_cast<char>(code) : '?');
          break;
        }
        default:
          return false;
      }
    }
    return false;  // unterminated
  }

  // Any value, discarded.
  bool SkipValue(int depth) {
    if (depth > kMaxDepth) return false;
    SkipSpace();
    if (pos_ >= text_.size()) return false;
    std::string ignored;
    switch (text_[pos_]) {
      case '"':
        return String(&ignored);
      case '{':
        ++pos_;
        if (Consume('}')) return true;
        do {
          if (!String(&ignored) || !Consume(':') || !SkipValue(depth + 1)) return false;
        } while (Consume(','));
        return Consume('}');
      case '[':
        ++pos_;
        if (Consume(']')) return true;
        do {
          if (!SkipValue(depth + 1)) return false;
        } while (Consume(','));
        return Consume(']');
      default: {
        // Number, true, false or null.
        const size_t start = pos_;
        while (pos_ < text_.size() && (absl::ascii_isalnum(text_[pos_]) || text_[pos_] == '.' ||
                                       text_[pos_] == '+' || text_[pos_] == '-')) {
          ++pos_;
        }
        return pos_ > start;
      }
    }
  }

 private:
  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<std::string> EventType(absl::string_view body) {
  JsonScanner json(body);
  if (!json.Consume('{')) return std::nullopt;
  std::optional<std::string> type;
  if (!json.Consume('}')) {
    do {
      std::string key;
      if (!json.String(&key) || !json.Consume(':')) return std::nullopt;
      if (key != "type") {
        if (!json.SkipValue(1)) return std::nullopt;
        continue;
      }
      std::string value;
      if (!json.String(&value)) return std::nullopt;  // "type" must be a string
      type = std::move(value);
    } while (json.Consume(','));
    if (!json.Consume('}')) return std::nullopt;
  }
  if (!json.AtEnd() || !type.has_value() || type->empty()) return std::nullopt;
  return type;
}

}  // namespace wink::webhooks::example
