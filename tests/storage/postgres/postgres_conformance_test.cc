// The PostgreSQL backend passes the storage conformance suite
// (tests/storage/conformance), on a real PostgreSQL the test starts.
#include "gtest/gtest.h"
#include "tests/storage/conformance/storage_conformance.h"
#include "tests/storage/postgres/postgres_harness.h"

namespace wink::webhooks::storage::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Postgres, StorageConformance, ::testing::Values(pg::PostgresUnderTest()),
                         BackendName);

}  // namespace
}  // namespace wink::webhooks::storage::testing
