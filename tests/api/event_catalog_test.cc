#include "service/api/event_catalog.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/config/server_config.h"

namespace wink::webhooks::api {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

config::ServerConfig ConfigWith(const std::vector<std::pair<std::string, std::string>>& types) {
  config::ServerConfig config;
  for (const auto& [name, description] : types) {
    auto* type = config.add_event_types();
    type->set_name(name);
    type->set_description(description);
  }
  return config;
}

std::vector<std::string> Names(const EventCatalog& catalog) {
  std::vector<std::string> names;
  for (const auto& entry : catalog.entries()) names.push_back(entry.name);
  return names;
}

TEST(EventCatalogTest, EntriesAreSortedByNameWithTheirDescriptions) {
  const EventCatalog catalog(ConfigWith(
      {{"payment.completed", "paid"}, {"booking.created", "new"}, {"booking.cancelled", "gone"}}));

  EXPECT_THAT(Names(catalog),
              ElementsAre("booking.cancelled", "booking.created", "payment.completed"));
  EXPECT_EQ(catalog.entries()[0].description, "gone");
  EXPECT_EQ(catalog.entries()[2].description, "paid");
}

TEST(EventCatalogTest, ContainsOnlyConfiguredNamesExactly) {
  const EventCatalog catalog(ConfigWith({{"booking.created", ""}}));

  EXPECT_TRUE(catalog.Contains("booking.created"));
  EXPECT_FALSE(catalog.Contains("booking.Created"));
  EXPECT_FALSE(catalog.Contains("booking"));
  EXPECT_FALSE(catalog.Contains("booking.created "));
  EXPECT_FALSE(catalog.Contains(""));
}

TEST(EventCatalogTest, NamesListIsSortedAndCommaSeparated) {
  const EventCatalog catalog(ConfigWith({{"rate.updated", ""}, {"booking.created", ""}}));
  EXPECT_EQ(catalog.names_list(), "booking.created, rate.updated");
}

TEST(EventCatalogTest, EmptyConfigGivesAnEmptyCatalog) {
  const EventCatalog catalog{config::ServerConfig()};
  EXPECT_THAT(catalog.entries(), IsEmpty());
  EXPECT_EQ(catalog.names_list(), "");
  EXPECT_FALSE(catalog.Contains("booking.created"));
}

TEST(EventCatalogTest, DefaultConfigHasTheBuiltInCatalogue) {
  config::ServerConfig config;
  config::ApplyDefaults(config);
  const EventCatalog catalog(config);

  EXPECT_EQ(catalog.entries().size(), 13u);
  for (const char* name :
       {"booking.created", "booking.updated", "booking.cancelled", "payment.completed"}) {
    EXPECT_TRUE(catalog.Contains(name)) << name;
  }
  EXPECT_TRUE(std::is_sorted(catalog.entries().begin(), catalog.entries().end(),
                             [](const auto& a, const auto& b) { return a.name < b.name; }));
}

}  // namespace
}  // namespace wink::webhooks::api
