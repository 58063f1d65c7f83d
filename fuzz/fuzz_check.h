// What the fuzz targets share: FUZZ_CHECK, an assertion that stays on in
// every build mode and reports through libFuzzer. A failed check prints the
// condition and a short explanation, then aborts; libFuzzer treats the abort
// as a crash and writes the input to its artifact directory.
#ifndef WINK_WEBHOOKS_FUZZ_FUZZ_CHECK_H_
#define WINK_WEBHOOKS_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"

namespace wink::webhooks::fuzz {

[[noreturn]] inline void CheckFailed(const char* file, int line, const char* condition,
                                     absl::string_view why) {
  std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %.*s\n", file, line, condition,
               static_cast<int>(why.size()), why.data());
  std::abort();
}

}  // namespace wink::webhooks::fuzz

// FUZZ_CHECK(condition, why): `why` is anything convertible to
// absl::string_view, evaluated only on failure.
#define FUZZ_CHECK(condition, why)                                                \
  do {                                                                            \
    if (!(condition)) {                                                           \
      ::wink::webhooks::fuzz::CheckFailed(__FILE__, __LINE__, #condition, (why)); \
    }                                                                             \
  } while (false)

#endif  // WINK_WEBHOOKS_FUZZ_FUZZ_CHECK_H_
