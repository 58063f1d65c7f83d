#include "tests/metrics/scrape.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace wink::webhooks::testing {
namespace {

absl::StatusOr<HttpReply> ParseReply(absl::string_view raw) {
  const size_t head_end = raw.find("\r\n\r\n");
  if (head_end == absl::string_view::npos) {
    return absl::DataLossError(absl::StrCat("no end of headers in: ", raw));
  }
  const std::vector<absl::string_view> lines = absl::StrSplit(raw.substr(0, head_end), "\r\n");
  const std::vector<absl::string_view> status_line = absl::StrSplit(lines[0], ' ');
  HttpReply reply;
  if (status_line.size() < 2 || !absl::SimpleAtoi(status_line[1], &reply.status)) {
    return absl::DataLossError(absl::StrCat("bad status line: ", lines[0]));
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == absl::string_view::npos) continue;
    reply.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  reply.body = std::string(raw.substr(head_end + 4));
  return reply;
}

}  // namespace

int ConnectLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    const int error = errno;
    ::close(fd);
    errno = error;
    return -1;
  }
  return fd;
}

absl::StatusOr<HttpReply> HttpExchange(int port, absl::string_view request,
                                       absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  const int fd = ConnectLoopback(port);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("connect to port ", port, ": ", std::strerror(errno)));
  }
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (431) and close before reading it all
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buffer[4096];
  while (true) {
    const int64_t left_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    pollfd pfd{fd, POLLIN, 0};
    if (left_ms <= 0 || ::poll(&pfd, 1, static_cast<int>(left_ms)) == 0) {
      ::close(fd);
      return absl::DeadlineExceededError(absl::StrCat("no complete answer; got: ", raw));
    }
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // closed (or reset after the answer)
    raw.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return ParseReply(raw);
}

absl::StatusOr<HttpReply> HttpGet(int port, absl::string_view path) {
  return HttpExchange(port, absl::StrCat("GET ", path,
                                         " HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n"
                                         "Accept: text/plain\r\n\r\n"));
}

std::map<std::string, double> ParseSamples(absl::string_view text) {
  std::map<std::string, double> samples;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "#")) continue;
    const size_t space = line.rfind(' ');
    const std::string value(line.substr(space + 1));
    double parsed = 0;
    if (space == absl::string_view::npos ||
        !(absl::SimpleAtod(value, &parsed) || value == "+Inf" || value == "NaN")) {
      ADD_FAILURE() << "unreadable sample line: " << line;
      continue;
    }
    if (value == "+Inf") parsed = HUGE_VAL;
    samples[std::string(line.substr(0, space))] = parsed;
  }
  return samples;
}

}  // namespace wink::webhooks::testing
