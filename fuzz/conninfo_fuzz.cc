// RedactConninfo (service/config/server_config.h), which stands between a
// PostgreSQL password and the logs. A structured target: the input chooses
// how to build a libpq connection string (keyword/value form with optional
// spaces around '=' and quoted or bare values, or a URI with the password in
// the user info or in a query parameter), with a password made of upper-case
// letters (and, where libpq allows them, other characters) and everything
// else lower-case.
//
// Invariant: the redacted string contains no upper-case letter, i.e. no part
// of the password, whatever form libpq would have read it from.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_check.h"
#include "service/config/server_config.h"

namespace {

template <typename T, size_t N>
T Pick(FuzzedDataProvider& provider, const T (&options)[N]) {
  return options[provider.ConsumeIntegralInRange<size_t>(0, N - 1)];
}

// Other parameters, all lower-case; some look like the start of a password.
constexpr const char* kOtherParameters[] = {
    "host=db1", "dbname=w", "sslmode=require",  "passfile=/etc/pgpass",         "port=5432",
    "user=app", "host=''",  "options='-c x=1'", "application_name='password='", "user=password",
    "",
};
// libpq's whitespace around '=' (isspace).
constexpr const char* kSpaces[] = {"", " ", "  ", "\t", "\n"};

std::string SpaceAroundEquals(FuzzedDataProvider& provider) { return Pick(provider, kSpaces); }

// An upper-case letter first, then letters or any of `others`.
std::string Password(FuzzedDataProvider& provider, absl::string_view others) {
  std::string password(1, static_cast<char>('A' + provider.ConsumeIntegralInRange(0, 25)));
  const size_t length = provider.ConsumeIntegralInRange<size_t>(0, 12);
  for (size_t i = 0; i < length; ++i) {
    const size_t pick = provider.ConsumeIntegralInRange<size_t>(0, 25 + others.size());
    password += pick < 26 ? static_cast<char>('A' + pick) : others[pick - 26];
  }
  return password;
}

std::string KeywordForm(FuzzedDataProvider& provider) {
  std::string value;
  if (provider.ConsumeBool()) {
    // Quoted: anything, with ' and \ backslash-escaped.
    value = "'";
    for (char c : Password(provider, " '\\&=")) {
      if (c == '\'' || c == '\\') value += '\\';
      value += c;
    }
    value += "'";
  } else {
    // Bare: ends at whitespace; quotes and backslashes would need quoting.
    value = Password(provider, "&=?#!");
  }
  std::string out = Pick(provider, kOtherParameters);
  out += provider.ConsumeBool() ? " " : "\t";
  absl::StrAppend(&out, "password", SpaceAroundEquals(provider), "=",
                  SpaceAroundEquals(provider), value);
  absl::StrAppend(&out, " ", Pick(provider, kOtherParameters));
  return out;
}

std::string UriForm(FuzzedDataProvider& provider) {
  std::string out = provider.ConsumeBool() ? "postgresql://" : "postgres://";
  // In a URI, reserved characters of the password are percent-encoded.
  const std::string password = Password(provider, "%0123456789-._~");
  if (provider.ConsumeBool()) {
    absl::StrAppend(&out, "app:", password, "@db1:5432/w?sslmode=require");
  } else {
    absl::StrAppend(&out, "db1/w?", provider.ConsumeBool() ? "user=app&" : "",
                    "password=", password, provider.ConsumeBool() ? "&sslmode=require" : "");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider provider(data, size);
  const std::string conninfo = provider.ConsumeBool() ? KeywordForm(provider) : UriForm(provider);
  const std::string redacted = ::wink::webhooks::config::RedactConninfo(conninfo);
  for (char c : redacted) {
    FUZZ_CHECK(!absl::ascii_isupper(static_cast<unsigned char>(c)),
               absl::StrCat("password shown: \"", conninfo, "\" -> \"", redacted, "\""));
  }
  return 0;
}
