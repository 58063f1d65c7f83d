// A fresh directory for one test, removed with everything in it when the
// object goes away. Lives under $TEST_TMPDIR (Bazel) or the system temp dir.
#ifndef WINK_WEBHOOKS_TESTS_FAKES_TEMP_DIR_H_
#define WINK_WEBHOOKS_TESTS_FAKES_TEMP_DIR_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

namespace wink::webhooks::testing {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0'
                                          ? base
                                          : std::filesystem::temp_directory_path().c_str()) +
                          "/wink-test-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // `name` inside the directory.
  std::string Child(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace wink::webhooks::testing

#endif  // WINK_WEBHOOKS_TESTS_FAKES_TEMP_DIR_H_
