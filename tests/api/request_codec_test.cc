#include "service/api/request_codec.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/wire_format_lite.h"
#include "gtest/gtest.h"
#include "wink/webhooks/v1/webhook_service.pb.h"

namespace wink::webhooks::api {
namespace {

// Serializes `request` with every occurrence of `marker` (valid UTF-8 of the
// same length) replaced by `bytes`: generated code would refuse to
// serialize invalid UTF-8 directly.
std::string WithBytes(const google::protobuf::Message& request, const std::string& marker,
                      const std::string& bytes) {
  std::string wire = request.SerializeAsString();
  for (size_t at = wire.find(marker); at != std::string::npos; at = wire.find(marker)) {
    wire.replace(at, marker.size(), bytes);
  }
  return wire;
}

grpc::ByteBuffer ToBuffer(const std::string& wire) {
  grpc::Slice slice(wire);
  return grpc::ByteBuffer(&slice, 1);
}

constexpr char kMarker[] = "MARK";
const std::string kInvalid = "M\xc3\x28K";  // 0xc3 0x28 is not UTF-8; same length

TEST(FindInvalidUtf8Test, NamesNestedStringField) {
  v1::CreateWebhookRequest request;
  request.set_parent("accounts/acme");
  request.mutable_webhook()->set_display_name(kMarker);
  const absl::Status status =
      FindInvalidUtf8(*request.GetDescriptor(), WithBytes(request, kMarker, kInvalid));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "webhook.display_name: must be valid UTF-8");
}

TEST(FindInvalidUtf8Test, NamesRepeatedElementByIndex) {
  v1::CreateWebhookRequest request;
  request.mutable_webhook()->add_event_types("booking.created");
  request.mutable_webhook()->add_event_types(kMarker);
  const absl::Status status =
      FindInvalidUtf8(*request.GetDescriptor(), WithBytes(request, kMarker, kInvalid));
  EXPECT_EQ(status.message(), "webhook.event_types[1]: must be valid UTF-8");
}

TEST(FindInvalidUtf8Test, NamesMapValueByKeyAndMapKeyByField) {
  v1::UpdateWebhookRequest request;
  (*request.mutable_webhook()->mutable_headers())["X-Key"] = kMarker;
  EXPECT_EQ(
      FindInvalidUtf8(*request.GetDescriptor(), WithBytes(request, kMarker, kInvalid)).message(),
      "webhook.headers[\"X-Key\"]: must be valid UTF-8");

  v1::UpdateWebhookRequest by_key;
  (*by_key.mutable_webhook()->mutable_headers())[kMarker] = "v";
  EXPECT_EQ(
      FindInvalidUtf8(*by_key.GetDescriptor(), WithBytes(by_key, kMarker, kInvalid)).message(),
      "webhook.headers: keys must be valid UTF-8");
}

// PublishEvent's `data` is a google.protobuf.Struct: a map of Values whose
// strings are nested inside message-valued map entries and lists.
TEST(FindInvalidUtf8Test, NamesStringsInsideAStruct) {
  v1::PublishEventRequest request;
  auto& fields = *request.mutable_data()->mutable_fields();
  fields["guest"].set_string_value(kMarker);
  EXPECT_EQ(
      FindInvalidUtf8(*request.GetDescriptor(), WithBytes(request, kMarker, kInvalid)).message(),
      "data.fields[\"guest\"].string_value: must be valid UTF-8");

  v1::PublishEventRequest nested;
  auto& rooms = (*nested.mutable_data()->mutable_fields())["rooms"];
  rooms.mutable_list_value()->add_values()->set_number_value(1);
  (*rooms.mutable_list_value()->add_values()->mutable_struct_value()->mutable_fields())["name"]
      .set_string_value(kMarker);
  EXPECT_EQ(
      FindInvalidUtf8(*nested.GetDescriptor(), WithBytes(nested, kMarker, kInvalid)).message(),
      "data.fields[\"rooms\"].list_value.values[1].struct_value.fields[\"name\"].string_value: "
      "must be valid UTF-8");
}

TEST(FindInvalidUtf8Test, ValidMessageAndGarbageAreOk) {
  v1::CreateWebhookRequest request;
  request.set_parent("accounts/caf\xc3\xa9");
  request.mutable_webhook()->set_display_name("Caf\xc3\xa9 \xf0\x9f\x8f\xa8");
  EXPECT_TRUE(FindInvalidUtf8(*request.GetDescriptor(), request.SerializeAsString()).ok());
  EXPECT_TRUE(FindInvalidUtf8(*request.GetDescriptor(), "\xff\xff\xff").ok());
}

TEST(ParseRequestTest, ParsesValidBytesAndEmptyBuffers) {
  v1::GetWebhookRequest request;
  request.set_name("accounts/acme/webhooks/wh_x");
  v1::GetWebhookRequest parsed;
  ASSERT_TRUE(ParseRequest(ToBuffer(request.SerializeAsString()), parsed).ok());
  EXPECT_EQ(parsed.name(), request.name());

  v1::GetWebhookRequest empty;
  EXPECT_TRUE(ParseRequest(grpc::ByteBuffer(), empty).ok());
  EXPECT_EQ(empty.name(), "");
}

TEST(ParseRequestTest, InvalidUtf8IsInvalidArgumentNamingTheField) {
  v1::GetWebhookRequest request;
  request.set_name(kMarker);
  v1::GetWebhookRequest parsed;
  const absl::Status status = ParseRequest(ToBuffer(WithBytes(request, kMarker, kInvalid)), parsed);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "name: must be valid UTF-8");
}

TEST(ParseRequestTest, GarbageIsInvalidArgumentNamingTheType) {
  v1::GetWebhookRequest parsed;
  const absl::Status status = ParseRequest(ToBuffer("\x0a\xff\xff\xff\xff"), parsed);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "request: not a valid wink.webhooks.v1.GetWebhookRequest");
}

// The wire bytes of a PublishEventRequest whose data is {"k": [[[...v...]]]},
// `depth` lists deep, `innermost` being the wire bytes of v. Written by hand:
// protobuf refuses to serialize past its recursion limit.
std::string DeeplyNestedPublish(int depth, const std::string& innermost) {
  using ::google::protobuf::internal::WireFormatLite;
  // Nested length-delimited fields are a run of headers (tag, length) in
  // front of the innermost bytes: collect them from the inside out.
  std::vector<std::string> prefixes;
  size_t size = innermost.size();
  const auto add = [&](std::string prefix) {
    size += prefix.size();
    prefixes.push_back(std::move(prefix));
  };
  const auto header = [&](int field) {
    std::string out;
    {
      google::protobuf::io::StringOutputStream stream(&out);
      google::protobuf::io::CodedOutputStream coded(&stream);
      coded.WriteTag(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
      coded.WriteVarint64(size);
    }
    add(std::move(out));
  };
  for (int i = 0; i < depth; ++i) {
    header(1);  // ListValue.values
    header(6);  // Value.list_value
  }
  header(2);         // map entry value
  add("\x0a\x01k");  // map entry key "k"
  header(1);         // Struct.fields
  header(3);         // PublishEventRequest.data
  std::string wire;
  wire.reserve(size);
  for (auto it = prefixes.rbegin(); it != prefixes.rend(); ++it) wire += *it;
  return wire + innermost;
}

TEST(ParseRequestTest, DeepNestingIsRefusedWithoutExhaustingTheStack) {
  // 50,000 levels in ~390 KB: within the default max_request_bytes, and it
  // used to overflow the stack in FindInvalidUtf8 (fuzz/request_codec_fuzz).
  v1::PublishEventRequest parsed;
  const absl::Status status = ParseRequest(ToBuffer(DeeplyNestedPublish(50000, "")), parsed);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "request: not a valid wink.webhooks.v1.PublishEventRequest");
}

TEST(ParseRequestTest, InvalidUtf8IsFoundAsDeepAsProtobufParses) {
  // 40 lists are 80 nested messages: protobuf still parses them.
  google::protobuf::Value innermost;
  innermost.set_string_value(kMarker);
  std::string invalid = DeeplyNestedPublish(40, innermost.SerializeAsString());
  invalid.replace(invalid.find(kMarker), kInvalid.size(), kInvalid);
  v1::PublishEventRequest parsed;
  const absl::Status status = ParseRequest(ToBuffer(invalid), parsed);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              testing::EndsWith(".string_value: must be valid UTF-8"));
}

TEST(SerializeResponseTest, RoundTrips) {
  v1::Webhook webhook;
  webhook.set_name("accounts/acme/webhooks/wh_x");
  webhook.set_display_name(std::string(10000, 'x'));  // more than one slice
  grpc::ByteBuffer bytes;
  ASSERT_TRUE(SerializeResponse(webhook, bytes).ok());
  v1::Webhook back;
  ASSERT_TRUE(ParseRequest(bytes, back).ok());
  EXPECT_EQ(back.display_name(), webhook.display_name());
}

}  // namespace
}  // namespace wink::webhooks::api
