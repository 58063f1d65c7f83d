#include "service/http/url.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "service/common/errors.h"

namespace wink::webhooks::http {
namespace {

struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlStringDeleter {
  void operator()(char* s) const { curl_free(s); }
};
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

// Returns the part, or null if the URL has none.
CurlString GetPart(CURLU* url, CURLUPart part) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, 0) != CURLUE_OK) return nullptr;
  return CurlString(value);
}

}  // namespace

absl::StatusOr<HttpsUrl> ParseWebhookUrl(absl::string_view url, absl::string_view field) {
  auto invalid = [&](absl::string_view why) { return InvalidField(field, why); };
  if (url.empty()) return invalid("required");
  if (url.size() > kMaxUrlLength) {
    return invalid(absl::StrCat("longer than ", kMaxUrlLength, " characters"));
  }
  // libcurl would percent-encode or reject some of these on its own; refusing
  // them up front gives one clear rule and keeps logs unambiguous.
  if (!std::all_of(url.begin(), url.end(),
                   [](char c) { return c > ' ' && static_cast<unsigned char>(c) < 0x7f; })) {
    return invalid(
        "must be printable ASCII without spaces (percent-encode other characters, "
        "use punycode for international host names)");
  }
  // libcurl reports no fragment for a bare trailing '#'; refuse any.
  if (url.find('#') != absl::string_view::npos) return invalid("must not contain a fragment");
  const size_t scheme_end = url.find("://");
  if (scheme_end == absl::string_view::npos) {
    return invalid("must be an absolute https:// URL");
  }
  if (!absl::EqualsIgnoreCase(url.substr(0, scheme_end), "https")) {
    return invalid(absl::StrCat("must use https, not \"",
                                absl::AsciiStrToLower(url.substr(0, scheme_end)), "\""));
  }

  // libcurl, like browsers, reads "https:///x" as host "x"; we want the
  // host exactly where the caller wrote it.
  const absl::string_view after_scheme = url.substr(scheme_end + 3);
  if (after_scheme.empty() || after_scheme[0] == '/' || after_scheme[0] == '?') {
    return invalid("must have a host");
  }
  // libcurl decodes "%65vil.com" to "evil.com" (and takes "%25" as an IPv6
  // zone): the host we check must be the one written, so refuse any.
  absl::string_view host_and_port = after_scheme.substr(0, after_scheme.find_first_of("/?"));
  if (const size_t at = host_and_port.rfind('@'); at != absl::string_view::npos) {
    host_and_port.remove_prefix(at + 1);  // userinfo is refused below, with its own message
  }
  if (host_and_port.find('%') != absl::string_view::npos) {
    return invalid("host must not contain percent-encoding");
  }

  std::unique_ptr<CURLU, UrlDeleter> parsed(curl_url());
  if (parsed == nullptr) return absl::ResourceExhaustedError("out of memory parsing URL");
  const std::string copy(url);
  if (curl_url_set(parsed.get(), CURLUPART_URL, copy.c_str(), 0) != CURLUE_OK) {
    return invalid("is not a valid URL");
  }
  if (GetPart(parsed.get(), CURLUPART_USER) || GetPart(parsed.get(), CURLUPART_PASSWORD)) {
    return invalid("must not contain a user name or password; use a custom header instead");
  }
  CurlString host = GetPart(parsed.get(), CURLUPART_HOST);
  if (host == nullptr || *host == '\0') return invalid("must have a host");

  HttpsUrl out;
  out.host = absl::AsciiStrToLower(host.get());
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  if (CurlString port = GetPart(parsed.get(), CURLUPART_PORT)) {
    if (!absl::SimpleAtoi(port.get(), &out.port) || out.port < 1 || out.port > 65535) {
      return invalid("port must be between 1 and 65535");
    }
  }
  CurlString path = GetPart(parsed.get(), CURLUPART_PATH);
  out.path_and_query = path ? path.get() : "/";
  if (CurlString query = GetPart(parsed.get(), CURLUPART_QUERY)) {
    absl::StrAppend(&out.path_and_query, "?", query.get());
  }
  return out;
}

}  // namespace wink::webhooks::http
