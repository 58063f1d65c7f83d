#include "service/delivery/envelope.h"

#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/common/json.h"
#include "wink/webhooks/internal/v1/records.pb.h"

namespace wink::webhooks::delivery {
namespace {

using ::wink::webhooks::internal::v1::EventRecord;

// 2026-11-27T22:00:00Z in microseconds since the epoch.
int64_t At(int64_t extra_micros) {
  return absl::ToUnixMicros(
             absl::FromCivil(absl::CivilSecond(2026, 11, 27, 22, 0, 0), absl::UTCTimeZone())) +
         extra_micros;
}

EventRecord Event(std::string data_json) {
  EventRecord event;
  event.set_version(1);
  event.set_account("acme-hotels");
  event.set_id("evt_01JDQ7Z3M4N5P6Q7R8S9T0VWXY");
  event.set_type("booking.created");
  event.set_create_time_us(At(123456));
  event.set_data_json(std::move(data_json));
  // Not part of the envelope.
  event.set_idempotency_key("booking-42-created");
  event.set_watch_cursor(17);
  return event;
}

TEST(BuildEnvelopeTest, ExactBytes) {
  const std::string envelope = BuildEnvelope(Event(R"({"booking_id":"bk_42","nights":3})"));

  EXPECT_EQ(envelope, R"({"id":"evt_01JDQ7Z3M4N5P6Q7R8S9T0VWXY","type":"booking.created",)"
                      R"("timestamp":"2026-11-27T22:00:00.123456Z","account_id":"acme-hotels",)"
                      R"("data":{"booking_id":"bk_42","nights":3}})");
  EXPECT_TRUE(CheckJsonObject(envelope, "envelope").ok()) << CheckJsonObject(envelope, "envelope");
}

TEST(BuildEnvelopeTest, TimestampAlwaysHasSixFractionalDigits) {
  EventRecord event = Event("{}");

  event.set_create_time_us(At(0));
  EXPECT_EQ(BuildEnvelope(event),
            R"({"id":"evt_01JDQ7Z3M4N5P6Q7R8S9T0VWXY","type":"booking.created",)"
            R"("timestamp":"2026-11-27T22:00:00.000000Z","account_id":"acme-hotels","data":{}})");

  event.set_create_time_us(At(7));
  EXPECT_NE(BuildEnvelope(event).find(R"("timestamp":"2026-11-27T22:00:00.000007Z")"),
            std::string::npos)
      << BuildEnvelope(event);

  event.set_create_time_us(At(59 * 1000000 + 999999));
  EXPECT_NE(BuildEnvelope(event).find(R"("timestamp":"2026-11-27T22:00:59.999999Z")"),
            std::string::npos)
      << BuildEnvelope(event);
}

TEST(BuildEnvelopeTest, DataIsCopiedByteForByte) {
  // Key order, number spelling, whitespace, escapes and raw UTF-8 all stay
  // exactly as published: the signature covers these bytes.
  const std::string data =
      "{ \"z\" : 1,\n\t\"a\":\"12.50\", \"amount\": 12.50, \"big\": 1e400,"
      " \"guest\": \"Zo\xC3\xAB M\\u00fcller \\\"VIP\\\"\", \"emoji\": \"\xF0\x9F\x8F\xA8\" }";

  const std::string envelope = BuildEnvelope(Event(data));

  EXPECT_EQ(envelope,
            "{\"id\":\"evt_01JDQ7Z3M4N5P6Q7R8S9T0VWXY\",\"type\":\"booking.created\","
            "\"timestamp\":\"2026-11-27T22:00:00.123456Z\",\"account_id\":\"acme-hotels\","
            "\"data\":" +
                data + "}");
  EXPECT_TRUE(CheckJsonObject(envelope, "envelope").ok()) << CheckJsonObject(envelope, "envelope");
}

TEST(BuildEnvelopeTest, NestedObjectsAndArrays) {
  const std::string data =
      R"({"booking":{"id":"bk_42","guest":{"name":"Ada","tags":["vip",{"floor":3}]}},)"
      R"("rooms":[{"type":"double","rate":{"amount":"199.00","currency":"EUR"}}],"note":null})";

  const std::string envelope = BuildEnvelope(Event(data));

  EXPECT_EQ(envelope,
            R"({"id":"evt_01JDQ7Z3M4N5P6Q7R8S9T0VWXY","type":"booking.created",)"
            R"("timestamp":"2026-11-27T22:00:00.123456Z","account_id":"acme-hotels",)"
            R"("data":{"booking":{"id":"bk_42","guest":{"name":"Ada","tags":["vip",{"floor":3}]}},)"
            R"("rooms":[{"type":"double","rate":{"amount":"199.00","currency":"EUR"}}],)"
            R"("note":null}})");
  EXPECT_TRUE(CheckJsonObject(envelope, "envelope").ok()) << CheckJsonObject(envelope, "envelope");
}

TEST(BuildEnvelopeTest, SameEventGivesTheSameBytes) {
  const EventRecord event = Event(R"({"a":1})");

  EXPECT_EQ(BuildEnvelope(event), BuildEnvelope(event));
  EXPECT_EQ(BuildEnvelope(event), BuildEnvelope(EventRecord(event)));
}

TEST(BuildEnvelopeTest, OtherAccountTypeAndIdAreUsed) {
  EventRecord event = Event("{}");
  event.set_account("hotel_2-b");
  event.set_type("payment.refunded");
  event.set_id("evt_other");

  EXPECT_EQ(BuildEnvelope(event),
            R"({"id":"evt_other","type":"payment.refunded",)"
            R"("timestamp":"2026-11-27T22:00:00.123456Z","account_id":"hotel_2-b","data":{}})");
}

}  // namespace
}  // namespace wink::webhooks::delivery
