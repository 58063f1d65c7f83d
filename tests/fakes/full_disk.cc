#include "tests/fakes/full_disk.h"

#include <string>
#include <utility>

namespace wink::webhooks::testing {
namespace {

using ::rocksdb::DataVerificationInfo;
using ::rocksdb::IODebugContext;
using ::rocksdb::IOOptions;
using ::rocksdb::IOStatus;
using ::rocksdb::Slice;

class FullDiskFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FullDiskFile(std::unique_ptr<rocksdb::FSWritableFile> file,
               std::shared_ptr<std::atomic<bool>> full, std::shared_ptr<std::atomic<int>> refused)
      : FSWritableFileOwnerWrapper(std::move(file)),
        full_(std::move(full)),
        refused_(std::move(refused)) {}

  IOStatus Append(const Slice& data, const IOOptions& options, IODebugContext* dbg) override {
    if (Full()) return NoSpace();
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  IOStatus Append(const Slice& data, const IOOptions& options,
                  const DataVerificationInfo& info, IODebugContext* dbg) override {
    if (Full()) return NoSpace();
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                            IODebugContext* dbg) override {
    if (Full()) return NoSpace();
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, dbg);
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& options,
                            const DataVerificationInfo& info, IODebugContext* dbg) override {
    if (Full()) return NoSpace();
    return FSWritableFileOwnerWrapper::PositionedAppend(data, offset, options, info, dbg);
  }
  IOStatus Flush(const IOOptions& options, IODebugContext* dbg) override {
    if (Full()) return NoSpace();
    return FSWritableFileOwnerWrapper::Flush(options, dbg);
  }
  IOStatus Sync(const IOOptions& options, IODebugContext* dbg) override {
    if (Full()) return NoSpace();
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  IOStatus Fsync(const IOOptions& options, IODebugContext* dbg) override {
    if (Full()) return NoSpace();
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }

 private:
  bool Full() const { return full_->load(); }
  IOStatus NoSpace() {
    ++*refused_;
    return IOStatus::NoSpace("No space left on device (test)");
  }

  std::shared_ptr<std::atomic<bool>> full_;
  std::shared_ptr<std::atomic<int>> refused_;
};

class FullDiskFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  FullDiskFileSystem(std::shared_ptr<std::atomic<bool>> full,
                     std::shared_ptr<std::atomic<int>> refused)
      : FileSystemWrapper(rocksdb::FileSystem::Default()),
        full_(std::move(full)),
        refused_(std::move(refused)) {}

  const char* Name() const override { return "FullDiskFileSystem"; }

  IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                           std::unique_ptr<rocksdb::FSWritableFile>* result,
                           IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    IOStatus status = target()->NewWritableFile(name, options, &file, dbg);
    if (status.ok()) *result = std::make_unique<FullDiskFile>(std::move(file), full_, refused_);
    return status;
  }

  // A full disk has no free space: RocksDB's own recovery waits for some
  // before it retries (retrying into a full disk makes its error fatal).
  IOStatus GetFreeSpace(const std::string& path, const IOOptions& options, uint64_t* free,
                        IODebugContext* dbg) override {
    if (full_->load()) {
      *free = 0;
      return IOStatus::OK();
    }
    return target()->GetFreeSpace(path, options, free, dbg);
  }

  IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                              std::unique_ptr<rocksdb::FSWritableFile>* result,
                              IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    IOStatus status = target()->ReopenWritableFile(name, options, &file, dbg);
    if (status.ok()) *result = std::make_unique<FullDiskFile>(std::move(file), full_, refused_);
    return status;
  }

 private:
  std::shared_ptr<std::atomic<bool>> full_;
  std::shared_ptr<std::atomic<int>> refused_;
};

}  // namespace

FullDisk::FullDisk()
    : full_(std::make_shared<std::atomic<bool>>(false)),
      refused_(std::make_shared<std::atomic<int>>(0)),
      env_(rocksdb::NewCompositeEnv(std::make_shared<FullDiskFileSystem>(full_, refused_))) {}

}  // namespace wink::webhooks::testing
