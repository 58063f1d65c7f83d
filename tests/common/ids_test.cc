#include "service/common/ids.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_clock.h"

namespace wink::webhooks {
namespace {

using ::testing::StartsWith;
using ::wink::webhooks::testing::FakeClock;

constexpr absl::string_view kCrockford = "0123456789abcdefghjkmnpqrstvwxyz";
// The first 10 base32 digits hold the top 50 bits: 2 zero bits and the
// 48-bit millisecond timestamp.
constexpr int kTimestampDigits = 10;

// A valid body of 26 digits, for building near-miss ids in IsValidId tests.
constexpr absl::string_view kValidBody = "01jdq3v8k2m7x9c4t6y1b5n0ra";

TEST(IdGeneratorTest, IdIsPrefixFollowedBy26LowerCaseCrockfordDigits) {
  FakeClock clock;
  IdGenerator generator(clock, /*seed=*/1);

  const std::string id = generator.Next(kWebhookIdPrefix);

  EXPECT_THAT(id, StartsWith("wh_"));
  ASSERT_EQ(id.size(), kWebhookIdPrefix.size() + kIdBodyLength);
  for (char c : id.substr(kWebhookIdPrefix.size())) {
    EXPECT_NE(kCrockford.find(c), absl::string_view::npos) << "unexpected digit '" << c << "'";
  }
  EXPECT_TRUE(IsValidId(id, kWebhookIdPrefix)) << id;
}

TEST(IdGeneratorTest, UsesTheRequestedPrefix) {
  FakeClock clock;
  IdGenerator generator(clock, /*seed=*/1);

  const std::string id = generator.Next(kEventIdPrefix);

  EXPECT_THAT(id, StartsWith("evt_"));
  EXPECT_TRUE(IsValidId(id, kEventIdPrefix)) << id;
  EXPECT_FALSE(IsValidId(id, kWebhookIdPrefix)) << id;
}

TEST(IdGeneratorTest, LeadingDigitsEncodeTheMillisecondTimestamp) {
  // Checked against an independent encoding of the 50-bit value (2 zero bits
  // and 48 bits of millis), so a change of bit layout breaks this test.
  const absl::Time start = absl::FromUnixMillis(1764000000123);
  FakeClock clock(start);
  IdGenerator generator(clock, /*seed=*/7);

  const std::string body = generator.Next(kWebhookIdPrefix).substr(kWebhookIdPrefix.size());

  uint64_t millis = 1764000000123;
  std::string expected(kTimestampDigits, '0');
  for (int i = kTimestampDigits - 1; i >= 0; --i) {
    expected[i] = kCrockford[millis & 31];
    millis >>= 5;
  }
  EXPECT_EQ(body.substr(0, kTimestampDigits), expected);
}

TEST(IdTimeTest, ReturnsTheMillisecondTheIdWasMadeAt) {
  FakeClock clock(absl::FromUnixMillis(1764000000123) + absl::Microseconds(456));
  IdGenerator generator(clock, /*seed=*/7);

  const std::string id = generator.Next(kEventIdPrefix);

  EXPECT_EQ(IdTime(id, kEventIdPrefix), absl::FromUnixMillis(1764000000123));
}

TEST(FirstIdAtTest, SortsBetweenTheIdsMadeBeforeAndAtItsMillisecond) {
  FakeClock clock(absl::FromUnixMillis(1700000000123));
  IdGenerator ids(clock, 7);
  const std::string before = ids.Next(kEventIdPrefix);
  clock.Advance(absl::Milliseconds(1));
  const std::string at = ids.Next(kEventIdPrefix);
  const std::string first = FirstIdAt(absl::FromUnixMillis(1700000000124), kEventIdPrefix);
  EXPECT_TRUE(IsValidId(first, kEventIdPrefix)) << first;
  EXPECT_LT(before, first);
  EXPECT_LE(first, at);
  EXPECT_EQ(IdTime(first, kEventIdPrefix), absl::FromUnixMillis(1700000000124));
  // A time inside a millisecond rounds up: ids of that millisecond were
  // made before it.
  EXPECT_EQ(FirstIdAt(absl::FromUnixMicros(1700000000123001), kEventIdPrefix), first);
}

TEST(FirstIdAtTest, ClampsTimesOutsideTheIdRange) {
  EXPECT_EQ(FirstIdAt(absl::InfinitePast(), "evt_"), "evt_" + std::string(26, '0'));
  EXPECT_EQ(FirstIdAt(absl::FromUnixSeconds(-5), "evt_"), "evt_" + std::string(26, '0'));
  const std::string last = FirstIdAt(absl::InfiniteFuture(), "evt_");
  EXPECT_TRUE(IsValidId(last, "evt_")) << last;
  EXPECT_EQ(last.substr(0, 14), "evt_7zzzzzzzzz");
}

TEST(IdGeneratorTest, IdsWithinOneMillisecondAreStrictlyIncreasing) {
  FakeClock clock;
  IdGenerator generator(clock, /*seed=*/42);

  std::string previous = generator.Next(kWebhookIdPrefix);
  for (int i = 0; i < 10000; ++i) {
    std::string id = generator.Next(kWebhookIdPrefix);
    ASSERT_LT(previous, id) << "after " << i << " ids";
    // The clock never moved, so every id carries the same timestamp.
    ASSERT_EQ(id.substr(0, 3 + kTimestampDigits), previous.substr(0, 3 + kTimestampDigits));
    ASSERT_TRUE(IsValidId(id, kWebhookIdPrefix)) << id;
    previous = std::move(id);
  }
}

TEST(IdGeneratorTest, IdsOfLaterMillisecondsSortAfterEarlierOnes) {
  FakeClock clock;
  IdGenerator generator(clock, /*seed=*/3);

  const std::string first = generator.Next(kWebhookIdPrefix);
  clock.Advance(absl::Milliseconds(1));
  const std::string second = generator.Next(kWebhookIdPrefix);

  EXPECT_LT(first, second);
  EXPECT_NE(first.substr(0, 3 + kTimestampDigits), second.substr(0, 3 + kTimestampDigits));
}

TEST(IdGeneratorTest, StaysIncreasingWhenTheClockGoesBackwards) {
  FakeClock clock;
  IdGenerator generator(clock, /*seed=*/5);

  const std::string before = generator.Next(kWebhookIdPrefix);
  clock.Advance(-absl::Hours(1));
  const std::string after = generator.Next(kWebhookIdPrefix);

  EXPECT_LT(before, after);
  // The newer timestamp is reused rather than the clock's earlier one.
  EXPECT_EQ(after.substr(0, 3 + kTimestampDigits), before.substr(0, 3 + kTimestampDigits));
}

TEST(IdGeneratorTest, TenThousandIdsStayIncreasingWhileTheClockJumpsBackAndForth) {
  FakeClock clock;
  IdGenerator generator(clock, /*seed=*/9);

  std::string previous = generator.Next(kWebhookIdPrefix);
  for (int i = 0; i < 10000; ++i) {
    // Mostly backwards (NTP step), sometimes one millisecond forward.
    clock.Advance(i % 3 == 0 ? absl::Milliseconds(1) : -absl::Milliseconds(5));
    std::string id = generator.Next(kWebhookIdPrefix);
    ASSERT_LT(previous, id) << "after " << i << " ids";
    previous = std::move(id);
  }
}

TEST(IdGeneratorTest, SameSeedAndClockGiveTheSameIds) {
  FakeClock clock;
  IdGenerator a(clock, /*seed=*/11);
  IdGenerator b(clock, /*seed=*/11);

  EXPECT_EQ(a.Next(kWebhookIdPrefix), b.Next(kWebhookIdPrefix));
  EXPECT_EQ(a.Next(kWebhookIdPrefix), b.Next(kWebhookIdPrefix));
}

TEST(IdGeneratorTest, DifferentSeedsGiveDifferentIds) {
  FakeClock clock;
  IdGenerator a(clock, /*seed=*/11);
  IdGenerator b(clock, /*seed=*/12);

  EXPECT_NE(a.Next(kWebhookIdPrefix), b.Next(kWebhookIdPrefix));
}

TEST(IdGeneratorTest, UnseededGeneratorMakesValidIncreasingIds) {
  FakeClock clock;
  IdGenerator generator(clock);

  const std::string first = generator.Next(kWebhookIdPrefix);
  const std::string second = generator.Next(kWebhookIdPrefix);

  EXPECT_TRUE(IsValidId(first, kWebhookIdPrefix)) << first;
  EXPECT_LT(first, second);
}

TEST(IsValidIdTest, AcceptsSmallestAndLargestBodies) {
  EXPECT_TRUE(IsValidId("wh_00000000000000000000000000", kWebhookIdPrefix));
  EXPECT_TRUE(IsValidId("wh_7zzzzzzzzzzzzzzzzzzzzzzzzz", kWebhookIdPrefix));
  EXPECT_TRUE(IsValidId(absl::StrCat("wh_", kValidBody), kWebhookIdPrefix));
}

TEST(IsValidIdTest, RejectsWrongOrMissingPrefix) {
  EXPECT_FALSE(IsValidId(absl::StrCat("evt_", kValidBody), kWebhookIdPrefix));
  EXPECT_FALSE(IsValidId(absl::StrCat("wx_", kValidBody), kWebhookIdPrefix));
  EXPECT_FALSE(IsValidId(absl::StrCat("WH_", kValidBody), kWebhookIdPrefix));
  // Right length without the prefix: 29 body-like characters.
  EXPECT_FALSE(IsValidId(absl::StrCat("012", kValidBody), kWebhookIdPrefix));
}

TEST(IsValidIdTest, RejectsWrongLength) {
  EXPECT_FALSE(IsValidId("", kWebhookIdPrefix));
  EXPECT_FALSE(IsValidId("wh_", kWebhookIdPrefix));
  EXPECT_FALSE(IsValidId(absl::StrCat("wh_", kValidBody.substr(1)), kWebhookIdPrefix));
  EXPECT_FALSE(IsValidId(absl::StrCat("wh_", kValidBody, "0"), kWebhookIdPrefix));
}

TEST(IsValidIdTest, RejectsUpperCaseDigits) {
  EXPECT_FALSE(IsValidId("wh_01JDQ3V8K2M7X9C4T6Y1B5N0RA", kWebhookIdPrefix));
  EXPECT_FALSE(IsValidId("wh_01jdq3v8k2m7x9c4t6y1b5n0rA", kWebhookIdPrefix));
}

TEST(IsValidIdTest, RejectsLettersCrockfordLeavesOut) {
  for (char excluded : {'i', 'l', 'o', 'u'}) {
    std::string id = absl::StrCat("wh_", kValidBody);
    id.back() = excluded;
    EXPECT_FALSE(IsValidId(id, kWebhookIdPrefix)) << id;
  }
}

TEST(IsValidIdTest, RejectsNonAlphabetCharacters) {
  for (char bad : {'-', '_', ' ', '\0', '\xc3'}) {
    std::string id = absl::StrCat("wh_", kValidBody);
    id[10] = bad;
    EXPECT_FALSE(IsValidId(id, kWebhookIdPrefix)) << static_cast<int>(bad);
  }
}

TEST(IsValidIdTest, RejectsFirstDigitAbove7) {
  // 26 digits hold 130 bits, so the top digit carries only 3 of the 128:
  // anything above 7 cannot come from a generator.
  for (char first : {'8', '9', 'a', 'z'}) {
    std::string id = absl::StrCat("wh_", kValidBody);
    id[3] = first;
    EXPECT_FALSE(IsValidId(id, kWebhookIdPrefix)) << id;
  }
}

}  // namespace
}  // namespace wink::webhooks
