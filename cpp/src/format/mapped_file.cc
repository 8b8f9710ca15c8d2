#include "format/mapped_file.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace qrt::format {

namespace {
std::string os_error(int err) { return std::strerror(err); }
}  // namespace

MappedFile::~MappedFile() {
  if (mapped_) {
    if (size_) munmap(const_cast<uint8_t*>(data_), size_);
  } else {
    std::free(const_cast<uint8_t*>(data_));
  }
}

Result<std::shared_ptr<MappedFile>> MappedFile::open(const std::string& path) {
  const std::string where = "'" + path + "': ";
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR)
      return NotFound(where + "no such file");
    return InvalidArgument(where + "cannot open: " + os_error(err));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return InvalidArgument(where + "cannot stat: " + os_error(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(where + "is a directory, not a .qmodel file");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument(where + "is not a regular file");
  }
  if (st.st_size == 0) {
    ::close(fd);
    return InvalidArgument(where + "is empty (0 bytes), not a .qmodel file");
  }
  if (static_cast<uint64_t>(st.st_size) > static_cast<uint64_t>(SIZE_MAX)) {
    ::close(fd);
    return InvalidArgument(where + "is too large to map on this system");
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int err = errno;
  ::close(fd);  // the mapping keeps its own reference
  if (p == MAP_FAILED) {
    if (err == ENOMEM) return OutOfMemory(where + "cannot map " + std::to_string(size) + " bytes");
    return InvalidArgument(where + "cannot map: " + os_error(err));
  }
  auto mf = std::shared_ptr<MappedFile>(new MappedFile());
  mf->data_ = static_cast<const uint8_t*>(p);
  mf->size_ = size;
  mf->mapped_ = true;
  mf->path_ = path;
  return mf;
}

Result<std::shared_ptr<MappedFile>> MappedFile::copy_of(const void* data, size_t size) {
  if (size > SIZE_MAX - 63) return OutOfMemory("buffer of " + std::to_string(size) + " bytes");
  const size_t alloc = size == 0 ? 64 : (size + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, alloc);
  if (!p) return OutOfMemory("cannot allocate " + std::to_string(size) + " bytes for a model image");
  if (size) std::memcpy(p, data, size);
  auto mf = std::shared_ptr<MappedFile>(new (std::nothrow) MappedFile());
  if (!mf) {
    std::free(p);
    return OutOfMemory("cannot allocate a model image");
  }
  mf->data_ = static_cast<const uint8_t*>(p);
  mf->size_ = size;
  return mf;
}

}  // namespace qrt::format
