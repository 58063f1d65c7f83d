// A RocksDB file system whose writes can be made to fail as on a full disk
// (ENOSPC), for tests of what the service does when storage cannot commit.
#ifndef WINK_WEBHOOKS_TESTS_FAKES_FULL_DISK_H_
#define WINK_WEBHOOKS_TESTS_FAKES_FULL_DISK_H_

#include <atomic>
#include <memory>

#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace wink::webhooks::testing {

// The default file system, except that while full() every append, flush
// and sync of a file being written fails with IOStatus::NoSpace. Reads and
// everything else pass through. Thread-safe.
class FullDisk {
 public:
  FullDisk();

  // Give to RocksDbOptions::env; lives as long as this object.
  rocksdb::Env* env() const { return env_.get(); }

  void SetFull(bool full) { full_->store(full); }
  // Writes refused since the start.
  int refused_writes() const { return refused_->load(); }

 private:
  std::shared_ptr<std::atomic<bool>> full_;
  std::shared_ptr<std::atomic<int>> refused_;
  std::unique_ptr<rocksdb::Env> env_;
};

}  // namespace wink::webhooks::testing

#endif  // WINK_WEBHOOKS_TESTS_FAKES_FULL_DISK_H_
