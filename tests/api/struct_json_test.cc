#include "service/api/struct_json.h"

#include <cmath>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace wink::webhooks::api {
namespace {

using ::google::protobuf::Struct;
using ::testing::StartsWith;

Struct Parse(const std::string& json) {
  Struct data;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &data).ok()) << json;
  return data;
}

TEST(StructToCanonicalJsonTest, SortsKeysAtEveryLevel) {
  const Struct data =
      Parse(R"({"zeta":1,"alpha":{"y":true,"b":null},"mid":[{"k2":"v","k1":"w"}]})");

  auto json = StructToCanonicalJson(data, "data");

  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, R"({"alpha":{"b":null,"y":true},"mid":[{"k1":"w","k2":"v"}],"zeta":1})");
}

TEST(StructToCanonicalJsonTest, SameBytesForEveryParseOfTheSameObject) {
  std::string many_keys = "{";
  for (int i = 0; i < 40; ++i) {
    if (i > 0) many_keys += ",";
    many_keys += "\"key" + std::to_string(i) + "\":" + std::to_string(i);
  }
  many_keys += "}";
  const std::string first = *StructToCanonicalJson(Parse(many_keys), "data");
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(*StructToCanonicalJson(Parse(many_keys), "data"), first);
  }
}

TEST(StructToCanonicalJsonTest, WritesIntegersWithoutFractionAndOtherNumbersShortest) {
  Struct data;
  (*data.mutable_fields())["a"].set_number_value(2432232314);
  (*data.mutable_fields())["b"].set_number_value(12.5);
  (*data.mutable_fields())["c"].set_number_value(0.1);
  (*data.mutable_fields())["d"].set_number_value(-3);
  (*data.mutable_fields())["e"].set_number_value(1e300);

  EXPECT_EQ(*StructToCanonicalJson(data, "data"),
            R"({"a":2432232314,"b":12.5,"c":0.1,"d":-3,"e":1e+300})");
}

TEST(StructToCanonicalJsonTest, EscapesStrings) {
  Struct data;
  (*data.mutable_fields())["note"].set_string_value("say \"hi\"\n\\ ok");

  EXPECT_EQ(*StructToCanonicalJson(data, "data"), R"({"note":"say \"hi\"\n\\ ok"})");
}

TEST(StructToCanonicalJsonTest, RefusesNumbersJsonCannotHoldNamingTheField) {
  Struct data;
  (*data.mutable_fields())["x"].set_number_value(std::numeric_limits<double>::quiet_NaN());

  auto json = StructToCanonicalJson(data, "data");

  EXPECT_EQ(json.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(json.status().message()), StartsWith("data: numbers must be finite"));
}

TEST(StructToCanonicalJsonTest, RefusesAValueWithoutAKind) {
  Struct data;
  (*data.mutable_fields())["x"];  // Value with nothing set

  EXPECT_EQ(StructToCanonicalJson(data, "data").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace wink::webhooks::api
