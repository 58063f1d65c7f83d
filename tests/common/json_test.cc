#include "service/common/json.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace wink::webhooks {
namespace {

// The message CheckJsonObject gives for `json`, "OK" if it accepts it.
std::string Check(absl::string_view json, int max_depth = kDefaultJsonMaxDepth) {
  const absl::Status status = CheckJsonObject(json, "data_json", max_depth);
  if (status.ok()) return "OK";
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  return std::string(status.message());
}

std::string Nested(int depth) {
  // {"a":[[...]]}: an object holding depth - 1 nested arrays, `depth`
  // containers in all; the last '[' is at byte 5 + depth - 2.
  return absl::StrCat(R"({"a":)", std::string(depth - 1, '['), std::string(depth - 1, ']'), "}");
}

TEST(CheckJsonObjectTest, AcceptsObjects) {
  EXPECT_EQ(Check("{}"), "OK");
  EXPECT_EQ(Check(" \t\r\n{ }\n "), "OK");
  EXPECT_EQ(Check(R"({"a":{"b":[1,2,{"c":null},[]]},"d":true,"e":false,"f":{}})"), "OK");
  EXPECT_EQ(Check(R"({ "a" : [ 1 , "x" ] , "b" : { } })"), "OK");
  EXPECT_EQ(Check(R"({"a":1,"a":2})"), "OK");  // duplicate keys are not checked
  EXPECT_EQ(Check(R"({"":""})"), "OK");
}

TEST(CheckJsonObjectTest, AcceptsNumbers) {
  EXPECT_EQ(Check(R"({"a":-0,"b":1e10,"c":1.5E-3,"d":0,"e":-12.5e+7,"f":0.0,"g":1E0})"), "OK");
  EXPECT_EQ(Check(R"({"big":123456789012345678901234567890e999999})"), "OK");
  EXPECT_EQ(Check(R"({"a":[0,-1,2.25]})"), "OK");
}

TEST(CheckJsonObjectTest, AcceptsEscapes) {
  EXPECT_EQ(Check(R"({"k":"\" \\ \/ \b \f \n \r \t"})"), "OK");
  EXPECT_EQ(Check(R"({"k":"\u00e9 \u20AC \u0000 \uFFFF"})"), "OK");
  EXPECT_EQ(Check(R"({"k":"\uD83D\uDE00 \udbff\udfff"})"), "OK");  // surrogate pairs
}

TEST(CheckJsonObjectTest, AcceptsUtf8) {
  EXPECT_EQ(Check("{\"k\":\"H\xc3\xb4tel \xe2\x82\xac \xf0\x9f\x98\x80\"}"), "OK");
  EXPECT_EQ(Check("{\"\xc2\x80\":\"\xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf\"}"),
            "OK");
  EXPECT_EQ(Check("{\"k\":\"\x7f\"}"), "OK");  // DEL is not a JSON control character
}

TEST(CheckJsonObjectTest, DepthLimitCountsTheTopLevelObject) {
  EXPECT_EQ(Check(Nested(64)), "OK");
  EXPECT_EQ(Check(Nested(65)), "data_json: nesting deeper than 64 at byte 68");
  EXPECT_EQ(Check(R"({"a":[1]})", 2), "OK");
  EXPECT_EQ(Check(R"({"a":[1]})", 1), "data_json: nesting deeper than 1 at byte 5");
  EXPECT_EQ(Check("{}", 0), "data_json: nesting deeper than 0 at byte 0");
}

TEST(CheckJsonObjectTest, DeepInputDoesNotExhaustTheStack) {
  const std::string deep = absl::StrCat("{\"a\":", std::string(1'000'000, '['));
  EXPECT_EQ(Check(deep, 1 << 30), "data_json: unexpected end of input at byte 1000005");
  EXPECT_EQ(Check(deep), "data_json: nesting deeper than 64 at byte 68");
}

TEST(CheckJsonObjectTest, RejectsOtherTopLevelValues) {
  for (absl::string_view json : {"[]", R"("s")", "42", " null", "true", "x", "\xef\xbb\xbf{}"}) {
    EXPECT_EQ(Check(json), "data_json: top level must be a JSON object") << json;
  }
}

TEST(CheckJsonObjectTest, RejectsEmptyAndTruncatedInput) {
  EXPECT_EQ(Check(""), "data_json: unexpected end of input at byte 0");
  EXPECT_EQ(Check("  \n"), "data_json: unexpected end of input at byte 3");
  EXPECT_EQ(Check("{"), "data_json: unexpected end of input at byte 1");
  EXPECT_EQ(Check(R"({"a")"), "data_json: unexpected end of input at byte 4");
  EXPECT_EQ(Check(R"({"a":)"), "data_json: unexpected end of input at byte 5");
  EXPECT_EQ(Check(R"({"a":1)"), "data_json: unexpected end of input at byte 6");
  EXPECT_EQ(Check(R"({"a":[1,)"), "data_json: unexpected end of input at byte 8");
  EXPECT_EQ(Check(R"({"a":tr)"), "data_json: invalid literal at byte 5");
  EXPECT_EQ(Check(R"({"a":-)"), "data_json: invalid number at byte 5");
}

TEST(CheckJsonObjectTest, RejectsTrailingCommas) {
  EXPECT_EQ(Check(R"({"a":1,})"), "data_json: expected a string key at byte 7");
  EXPECT_EQ(Check(R"({"a":[1,]})"), "data_json: expected a value at byte 8");
  EXPECT_EQ(Check(R"({,})"), "data_json: expected a string key at byte 1");
}

TEST(CheckJsonObjectTest, RejectsTrailingData) {
  EXPECT_EQ(Check("{}x"), "data_json: unexpected data after the JSON object at byte 2");
  EXPECT_EQ(Check("{} {}"), "data_json: unexpected data after the JSON object at byte 3");
  EXPECT_EQ(Check(absl::string_view("{}\0", 3)),
            "data_json: unexpected data after the JSON object at byte 2");
  // Only space, tab, CR and LF are JSON whitespace.
  EXPECT_EQ(Check("{}\v"), "data_json: unexpected data after the JSON object at byte 2");
  EXPECT_EQ(Check("{}\xc2\xa0"), "data_json: unexpected data after the JSON object at byte 2");
}

TEST(CheckJsonObjectTest, RejectsStructuralErrors) {
  EXPECT_EQ(Check(R"({"a" 1})"), "data_json: expected ':' at byte 5");
  EXPECT_EQ(Check(R"({"a":1 "b":2})"), "data_json: expected ',' or '}' at byte 7");
  EXPECT_EQ(Check(R"({"a":[1 2]})"), "data_json: expected ',' or ']' at byte 8");
  EXPECT_EQ(Check(R"({"a":[1}})"), "data_json: expected ',' or ']' at byte 7");
  EXPECT_EQ(Check(R"({a:1})"), "data_json: expected a string key at byte 1");
  EXPECT_EQ(Check(R"({1:2})"), "data_json: expected a string key at byte 1");
  EXPECT_EQ(Check(R"({'a':1})"), "data_json: expected a string key at byte 1");
}

TEST(CheckJsonObjectTest, RejectsUnterminatedStrings) {
  EXPECT_EQ(Check(R"({"abc)"), "data_json: unterminated string at byte 1");
  EXPECT_EQ(Check(R"({"a":"b\)"), "data_json: unterminated string at byte 5");
  EXPECT_EQ(Check(R"({"a":"b\")"), "data_json: unterminated string at byte 5");
}

TEST(CheckJsonObjectTest, RejectsBadEscapes) {
  EXPECT_EQ(Check(R"({"a":"\x"})"), "data_json: invalid escape at byte 6");
  EXPECT_EQ(Check(R"({"a":"\'"})"), "data_json: invalid escape at byte 6");
  EXPECT_EQ(Check(R"({"a":"\U0041"})"), "data_json: invalid escape at byte 6");
  EXPECT_EQ(Check(R"({"a":"\u12G4"})"), "data_json: invalid \\u escape at byte 6");
  EXPECT_EQ(Check(R"({"a":"\u12"})"), "data_json: invalid \\u escape at byte 6");
  EXPECT_EQ(Check(R"({"a":"\u12)"), "data_json: invalid \\u escape at byte 6");
}

TEST(CheckJsonObjectTest, RejectsLoneSurrogateEscapes) {
  EXPECT_EQ(Check(R"({"a":"\uD800"})"), "data_json: unpaired surrogate escape at byte 6");
  EXPECT_EQ(Check(R"({"a":"\udfff"})"), "data_json: unpaired surrogate escape at byte 6");
  EXPECT_EQ(Check(R"({"a":"\uD800x"})"), "data_json: unpaired surrogate escape at byte 6");
  EXPECT_EQ(Check(R"({"a":"\uD800\u0041"})"), "data_json: unpaired surrogate escape at byte 6");
  EXPECT_EQ(Check(R"({"a":"\uD800\uD800"})"), "data_json: unpaired surrogate escape at byte 6");
  EXPECT_EQ(Check(R"({"a":"\uDE00\uD83D"})"), "data_json: unpaired surrogate escape at byte 6");
  EXPECT_EQ(Check(R"({"a":"\uD800\n"})"), "data_json: unpaired surrogate escape at byte 6");
  EXPECT_EQ(Check(R"({"a":"\uD800\uDC0"})"), "data_json: invalid \\u escape at byte 12");
}

TEST(CheckJsonObjectTest, RejectsRawControlCharacters) {
  EXPECT_EQ(Check("{\"a\":\"x\ny\"}"),
            "data_json: unescaped control character in string at byte 7");
  EXPECT_EQ(Check(absl::string_view("{\"a\0\":1}", 8)),
            "data_json: unescaped control character in string at byte 3");
}

TEST(CheckJsonObjectTest, RejectsInvalidUtf8) {
  for (absl::string_view bad : {
           "\xff",              // never valid
           "\x80",              // continuation byte without a lead
           "\xc3",              // truncated (followed by the closing quote)
           "\xe2\x82",          // truncated 3-byte sequence
           "\xf5\x80\x80\x80",  // lead byte above U+10FFFF
           "\xf4\x90\x80\x80",  // U+110000
           "\xed\xa0\x80",      // U+D800 encoded as UTF-8
           "\xed\xbf\xbf",      // U+DFFF encoded as UTF-8
       }) {
    EXPECT_EQ(Check(absl::StrCat("{\"a\":\"", bad, "\"}")), "data_json: invalid UTF-8 at byte 6")
        << absl::CEscape(bad);
  }
  // A sequence cut off by the end of input.
  EXPECT_EQ(Check("{\"a\":\"\xe2\x82"), "data_json: invalid UTF-8 at byte 6");
  // In a key, after valid multi-byte text.
  EXPECT_EQ(Check("{\"\xc3\xa9\xfe\":1}"), "data_json: invalid UTF-8 at byte 4");
}

TEST(CheckJsonObjectTest, RejectsOverlongUtf8) {
  for (absl::string_view overlong : {
           "\xc0\xaf",          // '/' in 2 bytes
           "\xc1\xbf",          // U+007F in 2 bytes
           "\xe0\x80\xaf",      // '/' in 3 bytes
           "\xe0\x9f\xbf",      // U+07FF in 3 bytes
           "\xf0\x80\x80\xaf",  // '/' in 4 bytes
           "\xf0\x8f\xbf\xbf",  // U+FFFF in 4 bytes
       }) {
    EXPECT_EQ(Check(absl::StrCat("{\"a\":\"", overlong, "\"}")),
              "data_json: invalid UTF-8 at byte 6")
        << absl::CEscape(overlong);
  }
}

TEST(CheckJsonObjectTest, RejectsBadNumbers) {
  EXPECT_EQ(Check(R"({"a":01})"), "data_json: leading zero in number at byte 5");
  EXPECT_EQ(Check(R"({"a":-01})"), "data_json: leading zero in number at byte 5");
  EXPECT_EQ(Check(R"({"a":00})"), "data_json: leading zero in number at byte 5");
  EXPECT_EQ(Check(R"({"a":+1})"), "data_json: expected a value at byte 5");
  EXPECT_EQ(Check(R"({"a":.5})"), "data_json: expected a value at byte 5");
  EXPECT_EQ(Check(R"({"a":NaN})"), "data_json: expected a value at byte 5");
  EXPECT_EQ(Check(R"({"a":Infinity})"), "data_json: expected a value at byte 5");
  EXPECT_EQ(Check(R"({"a":-Infinity})"), "data_json: invalid number at byte 5");
  EXPECT_EQ(Check(R"({"a":1.})"), "data_json: invalid number at byte 5");
  EXPECT_EQ(Check(R"({"a":1.e5})"), "data_json: invalid number at byte 5");
  EXPECT_EQ(Check(R"({"a":1e})"), "data_json: invalid number at byte 5");
  EXPECT_EQ(Check(R"({"a":1e+})"), "data_json: invalid number at byte 5");
  EXPECT_EQ(Check(R"({"a":- 1})"), "data_json: invalid number at byte 5");
  EXPECT_EQ(Check(R"({"a":0x10})"), "data_json: expected ',' or '}' at byte 6");
  EXPECT_EQ(Check(R"({"a":1.5.2})"), "data_json: expected ',' or '}' at byte 8");
}

TEST(CheckJsonObjectTest, RejectsBadLiterals) {
  EXPECT_EQ(Check(R"({"a":tru})"), "data_json: invalid literal at byte 5");
  EXPECT_EQ(Check(R"({"a":nul})"), "data_json: invalid literal at byte 5");
  EXPECT_EQ(Check(R"({"a":True})"), "data_json: expected a value at byte 5");
  EXPECT_EQ(Check(R"({"a":undefined})"), "data_json: expected a value at byte 5");
  EXPECT_EQ(Check(R"({"a":truex})"), "data_json: expected ',' or '}' at byte 9");
}

TEST(CheckJsonObjectTest, NamesTheGivenField) {
  const absl::Status status = CheckJsonObject("[]", "event.payload");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "event.payload: top level must be a JSON object");
}

std::string Quoted(absl::string_view utf8) {
  std::string out;
  AppendJsonString(out, utf8);
  return out;
}

TEST(AppendJsonStringTest, EscapesQuotesAndBackslashes) {
  EXPECT_EQ(Quoted(""), R"("")");
  EXPECT_EQ(Quoted("plain text"), R"("plain text")");
  EXPECT_EQ(Quoted(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(Quoted(R"(C:\dir\)"), R"("C:\\dir\\")");
  EXPECT_EQ(Quoted("/"), R"("/")");  // '/' needs no escape
}

TEST(AppendJsonStringTest, EscapesControlCharacters) {
  EXPECT_EQ(Quoted("a\nb"), R"("a\nb")");
  EXPECT_EQ(Quoted("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(Quoted("\x01"), R"("\u0001")");
  EXPECT_EQ(Quoted("\x1f"), R"("\u001f")");
  EXPECT_EQ(Quoted(absl::string_view("\0x", 2)), R"("\u0000x")");
  EXPECT_EQ(Quoted("\x7f"), "\"\x7f\"");  // DEL is not a JSON control character
}

TEST(AppendJsonStringTest, CopiesUtf8AsIs) {
  EXPECT_EQ(Quoted("H\xc3\xb4tel \xe2\x82\xac \xf0\x9f\x98\x80"),
            "\"H\xc3\xb4tel \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

TEST(AppendJsonStringTest, AppendsToExistingContent) {
  std::string out = "{\"k\":";
  AppendJsonString(out, "v\"");
  out.push_back('}');
  EXPECT_EQ(out, R"({"k":"v\""})");
}

TEST(AppendJsonStringTest, OutputIsAcceptedByCheckJsonObject) {
  std::string all_ascii;
  for (int c = 0; c < 0x80; ++c) all_ascii.push_back(static_cast<char>(c));
  std::string json = "{";
  AppendJsonString(json, all_ascii);
  json.push_back(':');
  AppendJsonString(json, absl::StrCat(all_ascii, "\xc3\xa9\xf0\x9f\x98\x80"));
  json.push_back('}');
  EXPECT_EQ(Check(json), "OK") << json;
}

}  // namespace
}  // namespace wink::webhooks
