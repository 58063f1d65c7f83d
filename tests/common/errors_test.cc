#include "service/common/errors.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace wink::webhooks {
namespace {

using ::testing::EndsWith;
using ::testing::StartsWith;

TEST(CutErrorMessageTest, ShortMessagesStayAsTheyAre) {
  EXPECT_EQ(CutErrorMessage("update_mask: unknown field \"x\""), "update_mask: unknown field \"x\"");
  EXPECT_EQ(CutErrorMessage(std::string(kMaxErrorMessageBytes, 'a')),
            std::string(kMaxErrorMessageBytes, 'a'));
}

TEST(CutErrorMessageTest, LongMessagesAreCutAndSaySo) {
  const std::string huge = "update_mask: unknown field \"" + std::string(900 * 1024, 'x') + "\"";
  const std::string cut = CutErrorMessage(huge);
  EXPECT_LE(cut.size(), kMaxErrorMessageBytes + 40);
  EXPECT_THAT(cut, StartsWith("update_mask: unknown field \"xxx"));
  EXPECT_THAT(cut, EndsWith(" ... (" + std::to_string(huge.size() - kMaxErrorMessageBytes) +
                            " bytes cut)"));
}

TEST(CutErrorMessageTest, NeverSplitsAUtf8Character) {
  // "é" is two bytes; a cut after 5 bytes would land inside the third one.
  const std::string cut = CutErrorMessage("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 5);
  EXPECT_EQ(cut, "\xc3\xa9\xc3\xa9 ... (4 bytes cut)");
}

TEST(QuoteForErrorTest, QuotesEscapesAndCuts) {
  EXPECT_EQ(QuoteForError("a\"b\n"), "\"a\\\"b\\n\"");
  EXPECT_EQ(QuoteForError(std::string(100, 'z'), 3), "\"zzz...\"");
}

}  // namespace
}  // namespace wink::webhooks
