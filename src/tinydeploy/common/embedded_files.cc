#include "tinydeploy/common/embedded_files.h"

#include "tinydeploy/common/error.h"

namespace tinydeploy {

std::string_view embedded_file(std::string_view path) {
  for (const EmbeddedFile& file : embedded_files()) {
    if (file.path == path) return file.content;
  }
  throw Error("internal: {} is not embedded in this build of tinydeploy", path);
}

}  // namespace tinydeploy
