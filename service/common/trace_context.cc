#include "service/common/trace_context.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace wink::webhooks {
namespace {

// "00-" + 32 + "-" + 16 + "-" + 2.
constexpr size_t kVersion00Length = 55;
constexpr size_t kTraceIdOffset = 3;
constexpr size_t kTraceIdLength = 32;
constexpr size_t kParentIdOffset = 36;
constexpr size_t kParentIdLength = 16;
constexpr size_t kFlagsOffset = 53;

bool IsLowerHex(absl::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return !text.empty();
}

bool IsAllZeros(absl::string_view text) { return text.find_first_not_of('0') == text.npos; }

// Whether `value` is a traceparent this service understands; see
// https://www.w3.org/TR/trace-context/#traceparent-header-field-values.
bool IsValidTraceparent(absl::string_view value) {
  if (value.size() < kVersion00Length) return false;
  const absl::string_view version = value.substr(0, 2);
  if (!IsLowerHex(version) || version == "ff") return false;
  // Version 00 is exactly 55 characters; a later version may append fields
  // after another dash.
  if (version == "00" ? value.size() != kVersion00Length
                      : value.size() > kVersion00Length && value[kVersion00Length] != '-') {
    return false;
  }
  if (value[2] != '-' || value[kParentIdOffset - 1] != '-' || value[kFlagsOffset - 1] != '-') {
    return false;
  }
  const absl::string_view trace_id = value.substr(kTraceIdOffset, kTraceIdLength);
  const absl::string_view parent_id = value.substr(kParentIdOffset, kParentIdLength);
  const absl::string_view flags = value.substr(kFlagsOffset, 2);
  return IsLowerHex(trace_id) && !IsAllZeros(trace_id) && IsLowerHex(parent_id) &&
         !IsAllZeros(parent_id) && IsLowerHex(flags);
}

// Printable ASCII (space included): nothing that could end a header line.
bool IsPrintableAscii(absl::string_view text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

std::optional<TraceContext> ParseTraceContext(const std::vector<absl::string_view>& traceparents,
                                              const std::vector<absl::string_view>& tracestates) {
  if (traceparents.size() != 1) return std::nullopt;
  const absl::string_view traceparent = absl::StripAsciiWhitespace(traceparents.front());
  if (!IsValidTraceparent(traceparent)) return std::nullopt;
  TraceContext context;
  context.traceparent =
      absl::StrCat("00", traceparent.substr(2, kVersion00Length - 2));
  std::vector<absl::string_view> members;
  for (absl::string_view state : tracestates) {
    state = absl::StripAsciiWhitespace(state);
    if (!state.empty()) members.push_back(state);
  }
  std::string tracestate = absl::StrJoin(members, ",");
  if (tracestate.size() <= kMaxTraceStateBytes && IsPrintableAscii(tracestate)) {
    context.tracestate = std::move(tracestate);
  }
  return context;
}

absl::string_view TraceIdOf(absl::string_view traceparent) {
  if (traceparent.size() < kTraceIdOffset + kTraceIdLength) return "";
  return traceparent.substr(kTraceIdOffset, kTraceIdLength);
}

}  // namespace wink::webhooks
