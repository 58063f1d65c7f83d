// Command-line preprocessing shared by the binaries: Abseil flags keep only
// the last occurrence of a flag, which silently drops all but one value of a
// list flag given several times.
#ifndef WINK_WEBHOOKS_SERVICE_CONFIG_COMMAND_LINE_H_
#define WINK_WEBHOOKS_SERVICE_CONFIG_COMMAND_LINE_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace wink::webhooks::config {

// Returns `args` (argv, program name first) with every occurrence of the
// flags named in `list_flags` joined into one comma-separated value at the
// place of the first, so `--extra_ca_file a.pem --extra_ca_file b.pem`
// means both files, as `--extra_ca_file a.pem,b.pem` does. Accepts the
// forms Abseil does (`--name=value`, `--name value`, one dash too) and
// leaves everything after `--` alone. Other arguments keep their order.
std::vector<std::string> JoinRepeatedListFlags(absl::Span<const std::string> args,
                                               absl::Span<const absl::string_view> list_flags);

}  // namespace wink::webhooks::config

#endif  // WINK_WEBHOOKS_SERVICE_CONFIG_COMMAND_LINE_H_
