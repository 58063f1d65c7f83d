#include "service/common/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace wink::webhooks {
namespace {

TEST(IsValidUtf8Test, AcceptsAsciiAndEmpty) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("hello, world"));
  // NUL is a valid code point; callers that forbid it check separately.
  EXPECT_TRUE(IsValidUtf8(absl::string_view("a\0b", 3)));
}

TEST(IsValidUtf8Test, AcceptsMultiByteSequences) {
  EXPECT_TRUE(IsValidUtf8("\xc3\xa9"));          // U+00E9 é (2 bytes)
  EXPECT_TRUE(IsValidUtf8("\xe2\x82\xac"));      // U+20AC € (3 bytes)
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));  // U+1F600 (4 bytes)
  EXPECT_TRUE(IsValidUtf8("H\xc3\xb4tel \xe2\x82\xac \xf0\x9f\x8f\xa8"));
}

TEST(IsValidUtf8Test, AcceptsBoundaryCodePoints) {
  EXPECT_TRUE(IsValidUtf8("\xc2\x80"));          // U+0080, smallest 2-byte
  EXPECT_TRUE(IsValidUtf8("\xe0\xa0\x80"));      // U+0800, smallest 3-byte
  EXPECT_TRUE(IsValidUtf8("\xed\x9f\xbf"));      // U+D7FF, just below surrogates
  EXPECT_TRUE(IsValidUtf8("\xee\x80\x80"));      // U+E000, just above surrogates
  EXPECT_TRUE(IsValidUtf8("\xef\xbf\xbf"));      // U+FFFF
  EXPECT_TRUE(IsValidUtf8("\xf0\x90\x80\x80"));  // U+10000, smallest 4-byte
  EXPECT_TRUE(IsValidUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF, the largest
}

TEST(IsValidUtf8Test, RejectsOverlongForms) {
  EXPECT_FALSE(IsValidUtf8("\xc0\x80"));          // NUL in 2 bytes
  EXPECT_FALSE(IsValidUtf8("\xc1\xbf"));          // U+007F in 2 bytes
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // '/' in 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xe0\x9f\xbf"));      // U+07FF in 3 bytes
  EXPECT_FALSE(IsValidUtf8("\xf0\x8f\xbf\xbf"));  // U+FFFF in 4 bytes
}

TEST(IsValidUtf8Test, RejectsSurrogates) {
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // U+D800
  EXPECT_FALSE(IsValidUtf8("\xed\xbf\xbf"));  // U+DFFF
  // A CESU-8 style surrogate pair.
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\xbd\xed\xb8\x80"));
}

TEST(IsValidUtf8Test, RejectsCodePointsAbove10FFFF) {
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));      // U+110000
  EXPECT_FALSE(IsValidUtf8("\xf7\xbf\xbf\xbf"));      // U+1FFFFF
  EXPECT_FALSE(IsValidUtf8("\xf8\x88\x80\x80\x80"));  // old 5-byte form
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xfe"));
}

TEST(IsValidUtf8Test, RejectsTruncatedSequences) {
  EXPECT_FALSE(IsValidUtf8("\xc3"));
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xf0\x9f\x98"));
  EXPECT_FALSE(IsValidUtf8("abc\xf0\x9f"));
  // Cut short by an ASCII character rather than by the end of the string.
  EXPECT_FALSE(IsValidUtf8("\xe2\x82x"));
  EXPECT_FALSE(IsValidUtf8("\xc3 "));
}

TEST(IsValidUtf8Test, RejectsStrayContinuationBytes) {
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("a\xbf"));
  EXPECT_FALSE(IsValidUtf8("\xc3\xa9\xa9"));  // one continuation byte too many
}

TEST(CountCodePointsTest, CountsCodePointsNotBytes) {
  EXPECT_EQ(CountCodePoints(""), 0u);
  EXPECT_EQ(CountCodePoints("abc"), 3u);
  EXPECT_EQ(CountCodePoints("\xc3\xa9"), 1u);
  EXPECT_EQ(CountCodePoints("\xe2\x82\xac"), 1u);
  EXPECT_EQ(CountCodePoints("\xf0\x9f\x98\x80"), 1u);
  EXPECT_EQ(CountCodePoints("H\xc3\xb4tel \xe2\x82\xac \xf0\x9f\x8f\xa8"), 9u);
}

TEST(CountCodePointsTest, CountsLongMultiByteText) {
  std::string text;
  for (int i = 0; i < 128; ++i) text += "\xe2\x82\xac";
  EXPECT_EQ(text.size(), 384u);
  EXPECT_EQ(CountCodePoints(text), 128u);
}

}  // namespace
}  // namespace wink::webhooks
