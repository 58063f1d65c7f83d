// Names for the service's own threads, so that `top -H`, `ps -L`, perf and
// /proc/PID/task/*/comm tell them apart (otherwise every thread is called
// after the binary).
#ifndef WINK_WEBHOOKS_SERVICE_COMMON_THREAD_NAME_H_
#define WINK_WEBHOOKS_SERVICE_COMMON_THREAD_NAME_H_

#include "absl/strings/string_view.h"

namespace wink::webhooks {

// Names the calling thread; Linux keeps the first 15 bytes. Best effort:
// a failure changes nothing else.
void NameThisThread(absl::string_view name);

}  // namespace wink::webhooks

#endif  // WINK_WEBHOOKS_SERVICE_COMMON_THREAD_NAME_H_
