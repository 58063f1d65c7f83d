// The server configuration (service/config/server_config.h) from text:
// ParseServerConfig, ApplyDefaults and ValidateServerConfig, never
// LoadServerConfig. No network; the only file touched is one empty temporary
// file: validation reads the files a config names (extra_ca_file, ...), so
// every top-level "*_file" field is pointed at it first.
//
// Invariants:
//  - a parse error is INVALID_ARGUMENT "<source>:<line>:<column>: ...";
//  - a parsed config printed back as text format parses to the same config;
//  - ApplyDefaults is idempotent (a completed config stays as it is);
//  - validation answers OK or INVALID_ARGUMENT, never anything else.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/fuzz_proto.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/text_format.h"
#include "service/config/server_config.h"

namespace {

namespace fuzz = ::wink::webhooks::fuzz;

namespace config = ::wink::webhooks::config;

// An empty regular file, removed at exit.
std::string* temp_file = nullptr;

void RemoveTempFile() { std::remove(temp_file->c_str()); }

// Points every set top-level string field named "*_file" at temp_file, by
// reflection so that fields added later are covered too.
void RedirectFiles(config::ServerConfig& config) {
  const google::protobuf::Descriptor& type = *config.GetDescriptor();
  const google::protobuf::Reflection& reflection = *config.GetReflection();
  for (int i = 0; i < type.field_count(); ++i) {
    const google::protobuf::FieldDescriptor* field = type.field(i);
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_STRING ||
        !absl::EndsWith(field->name(), "_file")) {
      continue;
    }
    if (field->is_repeated()) {
      for (int j = 0; j < reflection.FieldSize(config, field); ++j) {
        reflection.SetRepeatedString(&config, field, j, *temp_file);
      }
    } else if (!reflection.GetString(config, field).empty()) {
      reflection.SetString(&config, field, *temp_file);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // TextFormat logs every parse error besides reporting it.
  google::protobuf::SetLogHandler(nullptr);
  const char* tmpdir = std::getenv("TMPDIR");
  temp_file =
      new std::string(absl::StrCat(tmpdir != nullptr ? tmpdir : "/tmp", "/config_fuzz.XXXXXX"));
  const int fd = mkstemp(temp_file->data());
  if (fd < 0) {
    std::perror("config_fuzz: mkstemp");
    std::abort();
  }
  close(fd);
  std::atexit(RemoveTempFile);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = config::ParseServerConfig(text, "fuzz.textproto");
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument,
               parsed.status().ToString());
    FUZZ_CHECK(absl::StartsWith(parsed.status().message(), "fuzz.textproto:"),
               parsed.status().ToString());
    return 0;
  }

  std::string printed;
  FUZZ_CHECK(google::protobuf::TextFormat::PrintToString(*parsed, &printed), "cannot print");
  const auto reparsed = config::ParseServerConfig(printed, "printed");
  FUZZ_CHECK(reparsed.ok(), absl::StrCat(printed, "\n", reparsed.status().ToString()));
  FUZZ_CHECK(fuzz::DeterministicBytes(*reparsed) == fuzz::DeterministicBytes(*parsed),
             "text format round trip changes the config:\n" + printed);

  config::ServerConfig completed = *parsed;
  config::ApplyDefaults(completed);
  config::ServerConfig twice = completed;
  config::ApplyDefaults(twice);
  FUZZ_CHECK(fuzz::DeterministicBytes(twice) == fuzz::DeterministicBytes(completed),
             "ApplyDefaults is not idempotent");

  RedirectFiles(completed);
  const absl::Status valid = config::ValidateServerConfig(completed);
  FUZZ_CHECK(valid.ok() || valid.code() == absl::StatusCode::kInvalidArgument, valid.ToString());
  FUZZ_CHECK(valid.ok() || !valid.message().empty(), "an error without a message");
  return 0;
}
