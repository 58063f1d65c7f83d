#include "service/api/struct_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "service/common/errors.h"
#include "service/common/json.h"
#include "service/common/status_macros.h"

namespace wink::webhooks::api {
namespace {

using ::google::protobuf::ListValue;
using ::google::protobuf::Struct;
using ::google::protobuf::Value;

absl::Status AppendValue(const Value& value, absl::string_view field, std::string& out);

absl::Status AppendStruct(const Struct& object, absl::string_view field, std::string& out) {
  std::vector<const std::string*> keys;
  keys.reserve(object.fields_size());
  for (const auto& entry : object.fields()) keys.push_back(&entry.first);
  std::sort(keys.begin(), keys.end(),
            [](const std::string* a, const std::string* b) { return *a < *b; });
  out += '{';
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out += ',';
    AppendJsonString(out, *keys[i]);
    out += ':';
    WINK_RETURN_IF_ERROR(AppendValue(object.fields().at(*keys[i]), field, out));
  }
  out += '}';
  return absl::OkStatus();
}

absl::Status AppendList(const ListValue& list, absl::string_view field, std::string& out) {
  out += '[';
  for (int i = 0; i < list.values_size(); ++i) {
    if (i > 0) out += ',';
    WINK_RETURN_IF_ERROR(AppendValue(list.values(i), field, out));
  }
  out += ']';
  return absl::OkStatus();
}

absl::Status AppendNumber(double number, absl::string_view field, std::string& out) {
  if (!std::isfinite(number)) {
    return InvalidField(field, "numbers must be finite (JSON has no NaN or Infinity)");
  }
  // Integers print without a fraction or exponent up to 2^53, where doubles
  // stop holding every integer; everything else in the shortest form that
  // reads back as the same double.
  if (number == std::trunc(number) && std::fabs(number) < 9007199254740992.0) {
    absl::StrAppend(&out, static_cast<int64_t>(number));
    return absl::OkStatus();
  }
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), number);
  out.append(buffer, result.ptr);
  return absl::OkStatus();
}

absl::Status AppendValue(const Value& value, absl::string_view field, std::string& out) {
  switch (value.kind_case()) {
    case Value::kNullValue:
      out += "null";
      return absl::OkStatus();
    case Value::kNumberValue:
      return AppendNumber(value.number_value(), field, out);
    case Value::kStringValue:
      AppendJsonString(out, value.string_value());
      return absl::OkStatus();
    case Value::kBoolValue:
      out += value.bool_value() ? "true" : "false";
      return absl::OkStatus();
    case Value::kStructValue:
      return AppendStruct(value.struct_value(), field, out);
    case Value::kListValue:
      return AppendList(value.list_value(), field, out);
    case Value::KIND_NOT_SET:
      break;
  }
  return InvalidField(field, "a value without a kind (null, number, string, bool, object, list)");
}

}  // namespace

absl::StatusOr<std::string> StructToCanonicalJson(const Struct& data, absl::string_view field) {
  std::string out;
  WINK_RETURN_IF_ERROR(AppendStruct(data, field, out));
  return out;
}

}  // namespace wink::webhooks::api
