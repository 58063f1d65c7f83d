#include "service/metrics/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace wink::webhooks::metrics {
namespace {

[[noreturn]] void Die(absl::string_view metric, absl::string_view why) {
  std::fprintf(stderr, "metrics: %.*s: %.*s\n", static_cast<int>(metric.size()), metric.data(),
               static_cast<int>(why.size()), why.data());
  std::abort();
}

bool IsValidName(absl::string_view name, bool allow_colon) {
  if (name.empty() || absl::ascii_isdigit(name[0])) return false;
  return std::all_of(name.begin(), name.end(), [allow_colon](char c) {
    return absl::ascii_isalnum(c) || c == '_' || (allow_colon && c == ':');
  });
}

// HELP text: backslash and newline escaped (quotes are fine there).
std::string EscapeHelp(absl::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

absl::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

double BitsToDouble(uint64_t bits) {
  double value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

uint64_t DoubleToBits(double value) {
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

template <typename Child>
std::unique_ptr<Child> NewChild(const std::vector<double>& bounds) {
  return std::make_unique<Child>();
}

template <>
std::unique_ptr<Histogram> NewChild<Histogram>(const std::vector<double>& bounds) {
  return std::make_unique<Histogram>(bounds);
}

void AppendSample(std::string& out, double value) {
  out += ' ';
  out += FormatValue(value);
  out += '\n';
}

}  // namespace

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Exact integers (counts, bytes) read best without an exponent.
  if (value == std::trunc(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  // Shortest form that reads back exactly; fixed notation in the usual
  // range, so a bucket reads le="0.0005" rather than le="5e-04".
  char buffer[64];
  const double magnitude = std::fabs(value);
  const auto result =
      magnitude >= 1e-6 && magnitude < 1e15
          ? std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::fixed)
          : std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// --- Histogram ----------------------------------------------------------

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  // First bound >= value: buckets are "less than or equal".
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  uint64_t bits = sum_bits_.load(std::memory_order_relaxed);
  while (!sum_bits_.compare_exchange_weak(bits, DoubleToBits(BitsToDouble(bits) + value),
                                          std::memory_order_relaxed)) {
  }
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snapshot;
  snapshot.cumulative.resize(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative[i] = total;
  }
  snapshot.sum = BitsToDouble(sum_bits_.load(std::memory_order_relaxed));
  return snapshot;
}

// --- FamilyBase ---------------------------------------------------------

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {
  if (!IsValidName(name_, /*allow_colon=*/true)) Die(name_, "invalid metric name");
  for (const std::string& label : label_names_) {
    if (!IsValidName(label, /*allow_colon=*/false) || absl::StartsWith(label, "__")) {
      Die(name_, absl::StrCat("invalid label name \"", label, "\""));
    }
    if (type_ == MetricType::kHistogram && label == "le") {
      Die(name_, "\"le\" is reserved for histogram buckets");
    }
  }
}

void FamilyBase::Render(std::string& out) const {
  absl::StrAppend(&out, "# HELP ", name_, " ", EscapeHelp(help_), "\n# TYPE ", name_, " ",
                  TypeName(type_), "\n");
  RenderSamples(out);
}

void FamilyBase::CheckLabelCount(size_t count) const {
  if (count != label_names_.size()) {
    Die(name_, absl::StrCat("expected ", label_names_.size(), " label values, got ", count));
  }
}

void FamilyBase::AppendSeries(std::string& out, absl::string_view suffix,
                              const std::vector<std::string>& values,
                              absl::string_view extra) const {
  absl::StrAppend(&out, name_, suffix);
  if (values.empty() && extra.empty()) return;
  out += '{';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, label_names_[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  if (!extra.empty()) {
    if (!values.empty()) out += ',';
    out.append(extra.data(), extra.size());
  }
  out += '}';
}

// --- Family -------------------------------------------------------------

template <typename Child>
Child& Family<Child>::WithLabels(std::vector<std::string> values) {
  CheckLabelCount(values.size());
  absl::MutexLock lock(&mu_);
  auto it = children_.find(values);
  if (it != children_.end()) return *it->second;
  if (options_.max_series > 0 && limited_children_ >= options_.max_series) {
    values.assign(values.size(), std::string(kOverflowLabelValue));
    it = children_.find(values);
    if (it != children_.end()) return *it->second;
  } else {
    ++limited_children_;
  }
  return *children_.emplace(std::move(values), NewChild<Child>(bounds_)).first->second;
}

// Counters and gauges: one sample per child.
template <typename Child>
void Family<Child>::RenderSamples(std::string& out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [values, child] : children_) {
    AppendSeries(out, "", values);
    AppendSample(out, static_cast<double>(child->value()));
  }
}

template <>
void Family<Histogram>::RenderSamples(std::string& out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [values, child] : children_) {
    const Histogram::Snapshot snapshot = child->snapshot();
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      const std::string le = absl::StrCat(
          "le=\"", i < bounds_.size() ? FormatValue(bounds_[i]) : std::string("+Inf"), "\"");
      AppendSeries(out, "_bucket", values, le);
      AppendSample(out, static_cast<double>(snapshot.cumulative[i]));
    }
    AppendSeries(out, "_sum", values);
    AppendSample(out, snapshot.sum);
    // The +Inf bucket, not a separate counter: the two always agree.
    AppendSeries(out, "_count", values);
    AppendSample(out, static_cast<double>(snapshot.cumulative.back()));
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// --- Callbacks ----------------------------------------------------------

CallbackRegistration::CallbackRegistration(CallbackRegistration&& other) noexcept
    : family_(std::exchange(other.family_, nullptr)), id_(other.id_) {}

CallbackRegistration& CallbackRegistration::operator=(CallbackRegistration&& other) noexcept {
  if (this != &other) {
    Reset();
    family_ = std::exchange(other.family_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

void CallbackRegistration::Reset() {
  if (family_ != nullptr) std::exchange(family_, nullptr)->Unregister(id_);
}

CallbackRegistration CallbackFamily::Register(std::vector<std::string> values,
                                              std::function<double()> read) {
  CheckLabelCount(values.size());
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_id_++;
  sources_.emplace(id, Source{std::move(values), std::move(read)});
  return CallbackRegistration(this, id);
}

void CallbackFamily::Unregister(uint64_t id) {
  // Rendering holds mu_ while it calls the sources: once this returns, the
  // callback is neither running nor reachable.
  absl::MutexLock lock(&mu_);
  sources_.erase(id);
}

void CallbackFamily::RenderSamples(std::string& out) const {
  absl::MutexLock lock(&mu_);
  std::map<std::vector<std::string>, double> sums;
  for (const auto& [id, source] : sources_) sums[source.values] += source.read();
  for (const auto& [values, sum] : sums) {
    AppendSeries(out, "", values);
    AppendSample(out, sum);
  }
}

// --- Registry -----------------------------------------------------------

Registry::Registry() = default;
Registry::~Registry() = default;

void Registry::Add(std::unique_ptr<FamilyBase> family) {
  absl::MutexLock lock(&mu_);
  for (const auto& existing : families_) {
    if (existing->name() == family->name()) Die(family->name(), "registered twice");
  }
  families_.push_back(std::move(family));
}

template <typename Child>
Family<Child>& Registry::AddFamily(absl::string_view name, absl::string_view help, MetricType type,
                                   std::vector<std::string> label_names, FamilyOptions options,
                                   std::vector<double> bounds) {
  const bool unlabelled = label_names.empty();
  auto family = std::make_unique<Family<Child>>(std::string(name), std::string(help), type,
                                                std::move(label_names), options, std::move(bounds));
  Family<Child>& ref = *family;
  Add(std::move(family));
  // The one series of an unlabelled family exists from the start.
  if (unlabelled) ref.WithLabels({});
  return ref;
}

CounterFamily& Registry::AddCounter(absl::string_view name, absl::string_view help,
                                    std::vector<std::string> label_names, FamilyOptions options) {
  return AddFamily<Counter>(name, help, MetricType::kCounter, std::move(label_names), options);
}

GaugeFamily& Registry::AddGauge(absl::string_view name, absl::string_view help,
                                std::vector<std::string> label_names, FamilyOptions options) {
  return AddFamily<Gauge>(name, help, MetricType::kGauge, std::move(label_names), options);
}

HistogramFamily& Registry::AddHistogram(absl::string_view name, absl::string_view help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bounds, FamilyOptions options) {
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      Die(name, "bucket bounds must be finite and strictly increasing");
    }
  }
  return AddFamily<Histogram>(name, help, MetricType::kHistogram, std::move(label_names), options,
                              std::move(bounds));
}

CallbackFamily& Registry::AddCallbacks(absl::string_view name, absl::string_view help,
                                       MetricType type, std::vector<std::string> label_names) {
  if (type == MetricType::kHistogram) Die(name, "callbacks give gauges or counters");
  auto family = std::make_unique<CallbackFamily>(std::string(name), std::string(help), type,
                                                 std::move(label_names));
  CallbackFamily& ref = *family;
  Add(std::move(family));
  return ref;
}

std::string Registry::Render() const {
  std::vector<const FamilyBase*> families;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& family : families_) families.push_back(family.get());
  }
  // Families are never removed: rendering them outside mu_ keeps a slow
  // callback from blocking registrations.
  std::string out;
  for (const FamilyBase* family : families) family->Render(out);
  return out;
}

}  // namespace wink::webhooks::metrics
