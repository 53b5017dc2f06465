// One file written so that a reader never sees half of it: the text goes to a temporary file
// beside the target, which is then renamed over it.
#pragma once

#include <filesystem>
#include <string_view>

namespace tinydeploy {

// Throws tinydeploy::Error naming the file when it cannot be written; the temporary file is
// removed then.
void write_file_atomically(const std::filesystem::path& file, std::string_view content);

}  // namespace tinydeploy
