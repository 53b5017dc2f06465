// A scratch file for the tensor-file fuzz targets: the readers take paths, so each input is
// written to one file per process (in $TMPDIR) and read back from there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include <unistd.h>

namespace tinydeploy::fuzz {

class ScratchFile {
 public:
  explicit ScratchFile(const std::string& extension) {
    std::error_code error;
    const std::filesystem::path directory = std::filesystem::temp_directory_path(error);
    path_ = (error ? std::filesystem::path("/tmp") : directory) /
            ("tinydeploy-fuzz-" + std::to_string(::getpid()) + extension);
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  ~ScratchFile() {
    std::error_code error;
    std::filesystem::remove(path_, error);
  }

  // Replaces the file's content; aborts if the file cannot be written (not a finding).
  const std::filesystem::path& write(const uint8_t* data, size_t size) {
    std::FILE* file = std::fopen(path_.c_str(), "wb");
    if (file == nullptr || (size > 0 && std::fwrite(data, 1, size, file) != size) ||
        std::fclose(file) != 0) {
      std::perror(path_.c_str());
      std::abort();
    }
    return path_;
  }

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace tinydeploy::fuzz
