#include "service/delivery/envelope.h"

#include "absl/time/time.h"
#include "service/common/json.h"

namespace wink::webhooks::delivery {

std::string BuildEnvelope(const internal::v1::EventRecord& event) {
  std::string out;
  out.reserve(event.data_json().size() + event.id().size() + event.type().size() +
              event.account().size() + 96);
  out += "{\"id\":";
  AppendJsonString(out, event.id());
  out += ",\"type\":";
  AppendJsonString(out, event.type());
  out += ",\"timestamp\":\"";
  out += absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::FromUnixMicros(event.create_time_us()),
                          absl::UTCTimeZone());
  out += "\",\"account_id\":";
  AppendJsonString(out, event.account());
  out += ",\"data\":";
  out += event.data_json();
  out += '}';
  return out;
}

}  // namespace wink::webhooks::delivery
