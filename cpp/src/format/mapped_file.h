// A read-only file image: a memory map of a file, or an aligned copy of a caller's buffer.
// Either way data() is 64-byte aligned (page-aligned for a map), so the weights blob of a .qmodel
// (64-byte aligned from the start of the file) can be used in place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "qrt/status.h"

namespace qrt::format {

class MappedFile {
 public:
  // Maps `path` read-only (MAP_PRIVATE, PROT_READ). Errors: kNotFound for a missing path;
  // kInvalidArgument for a directory, an empty file or anything not a regular file;
  // kInvalidArgument (with the OS reason) when it cannot be opened or mapped.
  static Result<std::shared_ptr<MappedFile>> open(const std::string& path);
  // Copies [data, data + size) into a new 64-byte aligned buffer owned by the MappedFile.
  // size 0 gives an empty image (data() non-null, size() 0). kOutOfMemory if allocation fails.
  static Result<std::shared_ptr<MappedFile>> copy_of(const void* data, size_t size);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool is_mapped() const { return mapped_; }
  const std::string& path() const { return path_; }  // "" for a buffer copy

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::string path_;
};

}  // namespace qrt::format
