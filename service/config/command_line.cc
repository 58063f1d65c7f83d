#include "service/config/command_line.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace wink::webhooks::config {
namespace {

struct FlagArgument {
  std::string name;
  // Set for `--name=value`; nullopt when the value is the next argument.
  std::optional<std::string> inline_value;
};

// `arg` as a flag (`-name`, `--name`, with or without `=value`), if it is one.
std::optional<FlagArgument> AsFlag(absl::string_view arg) {
  if (!absl::ConsumePrefix(&arg, "-")) return std::nullopt;
  absl::ConsumePrefix(&arg, "-");
  if (arg.empty()) return std::nullopt;
  const size_t equals = arg.find('=');
  if (equals == absl::string_view::npos) return FlagArgument{std::string(arg), std::nullopt};
  return FlagArgument{std::string(arg.substr(0, equals)), std::string(arg.substr(equals + 1))};
}

}  // namespace

std::vector<std::string> JoinRepeatedListFlags(absl::Span<const std::string> args,
                                               absl::Span<const absl::string_view> list_flags) {
  const auto is_list_flag = [&](absl::string_view name) {
    return std::find(list_flags.begin(), list_flags.end(), name) != list_flags.end();
  };
  // First pass: every value of each list flag, in order.
  std::map<std::string, std::vector<std::string>> values;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--") break;
    const std::optional<FlagArgument> flag = AsFlag(args[i]);
    if (!flag.has_value() || !is_list_flag(flag->name)) continue;
    if (flag->inline_value.has_value()) {
      values[flag->name].push_back(*flag->inline_value);
    } else if (i + 1 < args.size()) {
      values[flag->name].push_back(args[++i]);
    }
  }
  // Second pass: the joined value where the flag first appears.
  std::vector<std::string> out;
  if (!args.empty()) out.push_back(args[0]);
  std::map<std::string, bool> written;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--") {
      out.insert(out.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    const std::optional<FlagArgument> flag = AsFlag(args[i]);
    if (!flag.has_value() || !is_list_flag(flag->name)) {
      out.push_back(args[i]);
      continue;
    }
    if (!flag->inline_value.has_value()) {
      if (i + 1 == args.size()) {  // no value: Abseil reports it
        out.push_back(args[i]);
        continue;
      }
      ++i;  // its value
    }
    if (written[flag->name]) continue;
    written[flag->name] = true;
    out.push_back(absl::StrCat("--", flag->name, "=", absl::StrJoin(values[flag->name], ",")));
  }
  return out;
}

}  // namespace wink::webhooks::config
