// W3C Trace Context (https://www.w3.org/TR/trace-context/): the
// `traceparent` and `tracestate` a publisher sends with PublishEvent, kept
// with the event and sent on every delivery attempt so one trace spans the
// publisher, this service and the receiver.
//
// What the recommendation asks of a participant that cannot use a header is
// to ignore it, not to fail the request: an invalid `traceparent` is dropped
// together with `tracestate` (which means nothing without it), and a
// `tracestate` that cannot be passed on safely is dropped alone. What is
// kept is safe to send as an HTTP header value: printable ASCII only.
#ifndef WINK_WEBHOOKS_SERVICE_COMMON_TRACE_CONTEXT_H_
#define WINK_WEBHOOKS_SERVICE_COMMON_TRACE_CONTEXT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace wink::webhooks {

// Longest `tracestate` passed on; the recommendation asks propagators to
// pass at least 512 characters and lets them drop longer ones.
inline constexpr size_t kMaxTraceStateBytes = 512;

struct TraceContext {
  // Version 00 form, "00-<trace-id>-<parent-id>-<flags>" (55 characters),
  // also when the caller sent a later version (which is read as 00 and
  // passed on as 00, as the recommendation asks).
  std::string traceparent;
  // Empty when none was sent or it was dropped.
  std::string tracestate;
};

// The trace context of the header values received (gRPC metadata may carry
// a header several times): nullopt unless there is exactly one valid
// `traceparent`. Several `tracestate` values are joined with commas, as
// HTTP combines them.
std::optional<TraceContext> ParseTraceContext(const std::vector<absl::string_view>& traceparents,
                                              const std::vector<absl::string_view>& tracestates);

// The 32 hex digits of a traceparent ParseTraceContext kept, for log lines;
// empty for an empty one.
absl::string_view TraceIdOf(absl::string_view traceparent);

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_COMMON_TRACE_CONTEXT_H_
