#include "tinydeploy/cli/report.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <fstream>
#include <ostream>
#include <system_error>

#include "tinydeploy/common/error.h"
#include "tinydeploy/common/temporary_directory.h"
#include "tinydeploy/common/text.h"
#include "tinydeploy/report/html.h"
#include "tinydeploy/report/metadata.h"

namespace tinydeploy::cli {
namespace {

namespace fs = std::filesystem;

// Whether `file` is a regular file (not a link) whose first line is the report marker.
bool is_tinydeploy_report(const fs::path& file) {
  const int fd = open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat status {};
  std::array<char, report::kReportMarker.size() + 2> start{};
  ssize_t got = 0;
  if (fstat(fd, &status) == 0 && S_ISREG(status.st_mode)) {
    got = read(fd, start.data(), start.size());
  }
  close(fd);
  if (got < static_cast<ssize_t>(report::kReportMarker.size()) + 1) return false;
  const std::string_view head(start.data(), static_cast<size_t>(got));
  return head.substr(0, report::kReportMarker.size()) == report::kReportMarker &&
         (head[report::kReportMarker.size()] == '\n' ||
          head.substr(report::kReportMarker.size()) == "\r\n");
}

// What may be written at `file`; throws when nothing may. Returns whether a file is there now.
bool check_report_target(const fs::path& file, bool force, const std::vector<fs::path>& keep) {
  const std::string shown = printable(file.string());
  if (file.empty()) throw Error("-o: no file name given");
  if (file.string().back() == '/' || file.filename() == "." || file.filename() == "..") {
    throw Error("-o {} names a directory; give the path of the HTML file to write", shown);
  }
  const fs::path parent = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  std::error_code ec;
  const fs::file_status parent_status = fs::status(parent, ec);
  if (!fs::exists(parent_status)) {
    throw Error("-o {}: the directory {} does not exist; create it first", shown,
                printable(parent.string()));
  }
  if (!fs::is_directory(parent_status)) {
    throw Error("-o {}: {} is not a directory", shown, printable(parent.string()));
  }
  const fs::file_status status = fs::symlink_status(file, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    throw Error("-o {}: cannot look at it: {}", shown, ec.message());
  }
  if (!fs::exists(status)) return false;
  if (fs::is_symlink(status)) {
    throw Error(
        "-o {} is a symbolic link; tinydeploy does not write through links: give the path of a "
        "regular file",
        shown);
  }
  if (fs::is_directory(status)) {
    throw Error("-o {} is a directory; give the path of the HTML file to write (e.g. {}/{})", shown,
                shown, "report.html");
  }
  if (!fs::is_regular_file(status)) {
    throw Error(
        "-o {} is not a regular file (a device, FIFO or socket); tinydeploy will not replace it",
        shown);
  }
  for (const fs::path& input : keep) {
    if (fs::equivalent(file, input, ec)) {
      throw Error("-o {} is the file the report is drawn from ({}); write the report elsewhere",
                  shown, printable(input.string()));
    }
  }
  if (!force && !is_tinydeploy_report(file)) {
    throw Error(
        "-o {} exists and is not a report tinydeploy wrote (its first line is not \"{}\"); use "
        "--force to replace it",
        shown, report::kReportMarker);
  }
  return true;
}

}  // namespace

void write_report_file(const fs::path& file, std::string_view page, bool force,
                       const std::vector<fs::path>& keep) {
  check_report_target(file, force, keep);
  const fs::path parent = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  // Staged in a directory of our own beside the target (same file system, so the rename is
  // atomic; removed at the end and on SIGINT/SIGTERM).
  TemporaryDirectory staging(parent);
  const fs::path staged = staging.path() / "report.html";
  {
    std::ofstream out(staged, std::ios::binary | std::ios::trunc);
    out.write(page.data(), static_cast<std::streamsize>(page.size()));
    if (!out.flush()) throw Error("cannot write {}", printable(staged.string()));
  }
  // Checked again just before the rename: what appeared at the path meanwhile is not replaced
  // unless the policy allows it.
  check_report_target(file, force, keep);
  std::error_code ec;
  fs::rename(staged, file, ec);
  if (ec) throw Error("cannot write {}: {}", printable(file.string()), ec.message());
}

void run_report(const ReportOptions& options, std::ostream& out) {
  const report::Metadata metadata = report::read_metadata(options.metadata);
  const std::string page = report::render_report(metadata);
  write_report_file(options.output, page, options.force, {options.metadata});
  out << fmt::format("wrote {} ({} bytes: {} layers; profile {}, validation {}, library {})\n",
                     printable(options.output.string()), page.size(), metadata.layers.size(),
                     metadata.profile ? "yes" : "none", metadata.validation ? "yes" : "none",
                     metadata.library ? "yes" : "none");
}

}  // namespace tinydeploy::cli
