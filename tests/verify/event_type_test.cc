#include "client/examples/receiver/event_type.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace wink::webhooks::example {
namespace {

TEST(EventTypeTest, ReadsTopLevelType) {
  EXPECT_EQ(EventType(R"({"type":"booking.created"})"), "booking.created");
  // The envelope the service sends, with "type" after nested values.
  EXPECT_EQ(EventType(R"({"id":"evt_1","data":{"type":"nested","a":[1,-2.5e3,true,null,{}]},)"
                      R"("type":"payment.completed","account_id":"acme"})"),
            "payment.completed");
  EXPECT_EQ(EventType(" \r\n\t{ \"type\" : \"a\" } \n"), "a");
}

TEST(EventTypeTest, DecodesEscapes) {
  EXPECT_EQ(EventType(R"({"type":"a\"b\\c\/d\u0041\u00e9"})"), "a\"b\\c/dA?");
  EXPECT_EQ(EventType(R"({"t\u0079pe":"escaped.key"})"), "escaped.key");
}

TEST(EventTypeTest, NulloptWithoutAStringType) {
  for (const char* body :
       {"", "{}", "[]", "null", R"({"data":{"type":"nested"}})", R"({"type":1})",
        R"({"type":null})", R"({"type":""})", R"(["type","a"])", R"({"type":"a"} x)",
        R"({"type":"a",})", R"({"type":"a")", R"({"type":"a)", R"({"type":"a\q"})",
        R"({"type":"a\u00g1"})", "{\"type\":\"a\nb\"}", R"({"x":,"type":"a"})",
        R"({"x":[1,],"type":"a"})", R"({type:"a"})"}) {
    EXPECT_EQ(EventType(body), std::nullopt) << body;
  }
}

TEST(EventTypeTest, DeepNestingIsRefused) {
  const auto nested = [](int depth) {
    std::string value;
    for (int i = 0; i < depth; ++i) value += "[";
    for (int i = 0; i < depth; ++i) value += "]";
    return absl::StrCat(R"({"type":"a","deep":)", value, "}");
  };
  EXPECT_EQ(EventType(nested(60)), "a");
  EXPECT_EQ(EventType(nested(100000)), std::nullopt);
}

}  // namespace
}  // namespace wink::webhooks::example
