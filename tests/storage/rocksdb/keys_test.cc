#include "service/storage/rocksdb/keys.h"

#include <cstdint>
#include <iterator>
#include <string>

#include "gtest/gtest.h"

namespace wink::webhooks::storage::rocks {
namespace {

using namespace std::string_literals;

TEST(KeyWriterTest, EncodesIntegersBigEndianFixedWidth) {
  EXPECT_EQ(KeyWriter().U8(0xab).key(), "\xab"s);
  EXPECT_EQ(KeyWriter().U32(0x01020304).key(), "\x01\x02\x03\x04"s);
  EXPECT_EQ(KeyWriter().U64(1).key(), "\0\0\0\0\0\0\0\x01"s);
  EXPECT_EQ(KeyWriter().U64(0x0102030405060708).key(), "\x01\x02\x03\x04\x05\x06\x07\x08"s);
}

TEST(KeyWriterTest, PrefixesStringsWithTheirLengthAsBigEndianUint16) {
  EXPECT_EQ(KeyWriter().Str("").key(), "\0\0"s);
  EXPECT_EQ(KeyWriter().Str("ab").key(),
            "\0\x02"
            "ab"s);
  EXPECT_EQ(KeyWriter().Str(std::string(300, 'x')).key().substr(0, 2), "\x01\x2c"s);
}

TEST(KeyReaderTest, RoundTripsEveryComponentType) {
  const std::string with_nul = "a\0b"s;
  const std::string key = KeyWriter()
                              .U8(7)
                              .Str("account")
                              .U32(0xdeadbeef)
                              .U64(0xfedcba9876543210)
                              .Str("")
                              .Str(with_nul)
                              .key();
  KeyReader reader(key);
  uint8_t u8 = 0;
  uint32_t u32 = 0;
  uint64_t u64 = 0;
  absl::string_view s1, s2, s3;

  ASSERT_TRUE(reader.U8(&u8));
  ASSERT_TRUE(reader.Str(&s1));
  ASSERT_TRUE(reader.U32(&u32));
  ASSERT_TRUE(reader.U64(&u64));
  ASSERT_TRUE(reader.Str(&s2));
  ASSERT_TRUE(reader.Str(&s3));

  EXPECT_EQ(u8, 7);
  EXPECT_EQ(s1, "account");
  EXPECT_EQ(u32, 0xdeadbeefu);
  EXPECT_EQ(u64, 0xfedcba9876543210u);
  EXPECT_EQ(s2, "");
  EXPECT_EQ(s3, with_nul);
  EXPECT_TRUE(reader.done());
}

TEST(KeyReaderTest, RoundTripsTheLongestString) {
  const std::string longest(kMaxKeyStringLength, 'z');
  const std::string key = KeyWriter().Str(longest).key();
  KeyReader reader(key);
  absl::string_view out;
  ASSERT_TRUE(reader.Str(&out));
  EXPECT_EQ(out, longest);
  EXPECT_TRUE(reader.done());
}

TEST(KeyReaderTest, DoneIsFalseWhileBytesRemain) {
  const std::string key = KeyWriter().U8(1).U8(2).key();
  KeyReader reader(key);
  uint8_t value;
  ASSERT_TRUE(reader.U8(&value));
  EXPECT_FALSE(reader.done());
}

TEST(KeyReaderTest, FailsOnTruncatedIntegers) {
  const std::string key = KeyWriter().U64(42).key();
  for (size_t length = 0; length < key.size(); ++length) {
    KeyReader reader(absl::string_view(key).substr(0, length));
    uint64_t value = 0;
    EXPECT_FALSE(reader.U64(&value)) << "length " << length;
  }
  uint32_t u32;
  EXPECT_FALSE(KeyReader("\x01\x02\x03"s).U32(&u32));
  uint8_t u8;
  EXPECT_FALSE(KeyReader("").U8(&u8));
}

TEST(KeyReaderTest, FailsOnTruncatedStrings) {
  const std::string key = KeyWriter().Str("hello").key();
  absl::string_view value;
  // Missing length byte.
  EXPECT_FALSE(KeyReader(absl::string_view(key).substr(0, 1)).Str(&value));
  // Length says 5, only 4 bytes follow.
  EXPECT_FALSE(KeyReader(absl::string_view(key).substr(0, key.size() - 1)).Str(&value));
}

TEST(KeyReaderTest, StaysFailedAfterAFailure) {
  // After a short read the reader must not resume mid-key and misparse the
  // following bytes as another component.
  const std::string key =
      "\0\x09"
      "abc"s;
  KeyReader reader(key);
  absl::string_view value;
  EXPECT_FALSE(reader.Str(&value));
  uint8_t u8;
  EXPECT_FALSE(reader.U8(&u8));
}

TEST(KeyOrderTest, U64ByteOrderIsNumericOrder) {
  const uint64_t values[] = {0,
                             1,
                             255,
                             256,
                             65535,
                             65536,
                             uint64_t{1} << 32,
                             uint64_t{1} << 40,
                             (uint64_t{1} << 63) + 1,
                             UINT64_MAX};
  for (size_t i = 1; i < std::size(values); ++i) {
    EXPECT_LT(KeyWriter().U64(values[i - 1]).key(), KeyWriter().U64(values[i]).key())
        << values[i - 1] << " vs " << values[i];
  }
}

TEST(KeyOrderTest, U32ByteOrderIsNumericOrder) {
  EXPECT_LT(KeyWriter().U32(1).key(), KeyWriter().U32(256).key());
  EXPECT_LT(KeyWriter().U32(255).key(), KeyWriter().U32(65536).key());
  EXPECT_LT(KeyWriter().U32(0x7fffffff).key(), KeyWriter().U32(0x80000000).key());
}

TEST(KeyOrderTest, WebhookKeysOfOneAccountSortByIdAndShareThePrefix) {
  const std::string prefix = WebhookKeyPrefix("acme");
  const std::string first = WebhookKey("acme", "wh_01");
  const std::string second = WebhookKey("acme", "wh_02");
  EXPECT_LT(first, second);
  EXPECT_EQ(first.compare(0, prefix.size(), prefix), 0);
  EXPECT_EQ(second.compare(0, prefix.size(), prefix), 0);
}

// The reason for the length prefix: a scan over account "a" must not reach
// account "ab", whose raw id merely starts with "a".
TEST(KeyOrderTest, AccountPrefixRangeExcludesAccountsWithALongerId) {
  const std::string begin = WebhookKeyPrefix("a");
  const std::string end = PrefixSuccessor(begin);
  for (const char* other : {"ab", "a-", "a0", "aa"}) {
    const std::string key = WebhookKey(other, "wh_01");
    EXPECT_FALSE(begin <= key && key < end) << "account " << other << " falls inside \"a\"";
  }
  const std::string own = WebhookKey("a", "wh_zz");
  EXPECT_TRUE(begin <= own && own < end);
}

TEST(KeyOrderTest, IdempotencyKeysSeparateAccountsAndKinds) {
  EXPECT_NE(IdempotencyKey("a", IdempotencyKind::kCreateWebhook, "r1"),
            IdempotencyKey("a", IdempotencyKind::kPublishEvent, "r1"));
  EXPECT_NE(IdempotencyKey("a", IdempotencyKind::kCreateWebhook, "br1"),
            IdempotencyKey("ab", IdempotencyKind::kCreateWebhook, "r1"));
  EXPECT_EQ(IdempotencyKey("a", IdempotencyKind::kCreateWebhook, "r1"),
            KeyWriter().Str("a").U8('W').Str("r1").key());
}

TEST(PrefixSuccessorTest, IncrementsTheLastByte) {
  EXPECT_EQ(PrefixSuccessor("abc"), "abd");
  EXPECT_EQ(PrefixSuccessor("\0"s), "\x01"s);
}

TEST(PrefixSuccessorTest, DropsTrailing0xffBytesBeforeIncrementing) {
  EXPECT_EQ(PrefixSuccessor("a\xff"s), "b");
  EXPECT_EQ(PrefixSuccessor("a\xff\xff"s), "b");
  EXPECT_EQ(PrefixSuccessor("\x01\xfe\xff"s), "\x01\xff"s);
}

TEST(PrefixSuccessorTest, IsEmptyWhenEveryByteIs0xff) {
  EXPECT_EQ(PrefixSuccessor("\xff\xff"s), "");
  EXPECT_EQ(PrefixSuccessor(""), "");
}

TEST(PrefixSuccessorTest, IsAboveEveryKeyWithThePrefix) {
  const std::string prefix = "ab\xff"s;
  const std::string successor = PrefixSuccessor(prefix);
  EXPECT_LT(prefix, successor);
  EXPECT_LT(prefix + "\xff\xff\xff"s, successor);
}

TEST(MemtableInsertHintTest, KeysLedByAWebhookOrAccountShareTheFirstComponentAsPrefix) {
  const std::string webhook = "wh_01jdq3v8k2m7x9c4t6y1b5n0ra";
  const std::string event = "evt_01jdq3v8k2m7x9c4t6y1b5n0rb";
  for (ColumnFamily cf :
       {ColumnFamily::kDeliveries, ColumnFamily::kDueByWebhook, ColumnFamily::kHeld}) {
    const auto hint = MemtableInsertHint(cf);
    ASSERT_NE(hint, nullptr) << ColumnFamilyName(cf);
    const std::string key = DeliveryKey(webhook, event);
    EXPECT_TRUE(hint->InDomain(key)) << ColumnFamilyName(cf);
    EXPECT_EQ(hint->Transform(key).ToString(), DeliveryKeyPrefix(webhook)) << ColumnFamilyName(cf);
  }
  const auto attempts = MemtableInsertHint(ColumnFamily::kAttempts);
  ASSERT_NE(attempts, nullptr);
  EXPECT_EQ(attempts->Transform(AttemptKey(webhook, event, 3)).ToString(),
            DeliveryKeyPrefix(webhook));
  const auto events = MemtableInsertHint(ColumnFamily::kEvents);
  ASSERT_NE(events, nullptr);
  EXPECT_EQ(events->Transform(EventKey("acct-1", event)).ToString(), EventKeyPrefix("acct-1"));
}

TEST(MemtableInsertHintTest, AKeyTooShortForItsFirstComponentGetsNoHint) {
  const auto hint = MemtableInsertHint(ColumnFamily::kDeliveries);
  ASSERT_NE(hint, nullptr);
  EXPECT_FALSE(hint->InDomain(""s));
  EXPECT_FALSE(hint->InDomain("\x00"s));
  EXPECT_FALSE(
      hint->InDomain("\x00\x05"
                     "abcd"s));  // says 5 bytes, holds 4
  EXPECT_TRUE(
      hint->InDomain("\x00\x05"
                     "abcde"s));
  EXPECT_TRUE(hint->InDomain("\x00\x00"s));  // an empty string is a whole component
  EXPECT_EQ(hint->Transform("\x00\x00rest"s).ToString(), "\x00\x00"s);
}

TEST(MemtableInsertHintTest, KeysLedByTimeSequenceOrEventShareOneEmptyPrefix) {
  for (ColumnFamily cf :
       {ColumnFamily::kDue, ColumnFamily::kUpdates, ColumnFamily::kDeliveriesByEvent}) {
    const auto hint = MemtableInsertHint(cf);
    ASSERT_NE(hint, nullptr) << ColumnFamilyName(cf);
    for (const std::string& key : {DueKey(1700000000000000, "wh_a", "evt_b"), UpdateKey(42),
                                   DeliveryByEventKey("evt_b", "wh_a"), ""s}) {
      EXPECT_TRUE(hint->InDomain(key)) << ColumnFamilyName(cf);
      EXPECT_EQ(hint->Transform(key).size(), 0u) << ColumnFamilyName(cf);
    }
  }
}

TEST(MemtableInsertHintTest, FamiliesWrittenAnywhereOrRarelyHaveNone) {
  for (ColumnFamily cf : {ColumnFamily::kDefault, ColumnFamily::kWebhooks,
                          ColumnFamily::kIdempotency, ColumnFamily::kApplications}) {
    EXPECT_EQ(MemtableInsertHint(cf), nullptr) << ColumnFamilyName(cf);
  }
}

}  // namespace
}  // namespace wink::webhooks::storage::rocks
