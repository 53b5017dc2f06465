// `tinydeploy report`: report.html drawn from a model's metadata (NAME.meta.json), without the
// model or the board.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <string_view>
#include <vector>

namespace tinydeploy::cli {

struct ReportOptions {
  std::filesystem::path metadata;
  std::filesystem::path output;
  bool force = false;  // also replace a file that is not a report tinydeploy wrote
};

void run_report(const ReportOptions& options, std::ostream& out);

// Writes `page` to `file` atomically (a temporary file next to it, then a rename). Replaces an
// existing file only when it is a report tinydeploy wrote (its first line is kReportMarker) or,
// with `force`, another regular file; never a directory, a symbolic link, a device, a FIFO or a
// socket, nor one of the files in `keep` (what the report is drawn from). The parent directory
// must exist. Throws tinydeploy::Error saying what is at the path and what to do.
void write_report_file(const std::filesystem::path& file, std::string_view page, bool force,
                       const std::vector<std::filesystem::path>& keep = {});

}  // namespace tinydeploy::cli
