// The RocksDB backend passes the storage conformance suite
// (tests/storage/conformance).
#include "gtest/gtest.h"
#include "tests/storage/conformance/storage_conformance.h"
#include "tests/storage/rocksdb/rocksdb_harness.h"

namespace wink::webhooks::storage::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(RocksDb, StorageConformance, ::testing::Values(rocks::RocksDbUnderTest()),
                         BackendName);

}  // namespace
}  // namespace wink::webhooks::storage::testing
