#include "service/common/trace_context.h"

#include <string>

#include "gtest/gtest.h"

namespace wink::webhooks {
namespace {

// The recommendation's own example.
constexpr char kValid[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

std::optional<TraceContext> Parse(absl::string_view traceparent,
                                  std::vector<absl::string_view> tracestates = {}) {
  return ParseTraceContext({traceparent}, tracestates);
}

TEST(TraceContextTest, AValidTraceparentIsKeptWithItsTracestate) {
  const auto context = Parse(kValid, {"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"});
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->traceparent, kValid);
  EXPECT_EQ(context->tracestate, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(TraceIdOf(context->traceparent), "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(TraceContextTest, SeveralTracestateValuesAreJoinedAndSurroundingSpaceIsTrimmed) {
  const auto context = Parse(std::string(" ") + kValid + " ", {" rojo=1 ", "", "congo=2"});
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->traceparent, kValid);
  EXPECT_EQ(context->tracestate, "rojo=1,congo=2");
}

TEST(TraceContextTest, InvalidTraceparentsAreDropped) {
  for (const char* bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",     // short
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",   // 00 with more
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper case
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero parent id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // forbidden version
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // separator
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",    // not hex
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",   // later, no dash
       }) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(Parse(bad, {"rojo=1"}).has_value());
  }
  // Two traceparents: which one is meant is unknown.
  EXPECT_FALSE(ParseTraceContext({kValid, kValid}, {}).has_value());
  EXPECT_FALSE(ParseTraceContext({}, {"rojo=1"}).has_value());
}

TEST(TraceContextTest, ALaterVersionIsReadAndPassedOnAsVersion00) {
  const auto context =
      Parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-adds");
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->traceparent, kValid);
}

TEST(TraceContextTest, ATracestateThatCannotBePassedOnSafelyIsDroppedAlone) {
  const std::string too_long = "k=" + std::string(kMaxTraceStateBytes, 'v');
  for (const std::string& bad : {too_long, std::string("rojo=1\r\nx-injected: yes"),
                                 std::string("rojo=\x7f")}) {
    const auto context = Parse(kValid, {bad});
    ASSERT_TRUE(context.has_value());
    EXPECT_EQ(context->traceparent, kValid);
    EXPECT_EQ(context->tracestate, "");
  }
  const std::string longest = "k=" + std::string(kMaxTraceStateBytes - 2, 'v');
  EXPECT_EQ(Parse(kValid, {longest})->tracestate, longest);
}

}  // namespace
}  // namespace wink::webhooks
