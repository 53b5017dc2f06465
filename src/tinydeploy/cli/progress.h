// Progress lines for long steps: on a terminal only (never with CI set, in a pipe, or --quiet).
#pragma once

#include <ostream>
#include <string_view>

namespace tinydeploy::cli {

class Progress {
 public:
  Progress(std::ostream& out, bool quiet) : out_(out), quiet_(quiet) {}
  void step(std::string_view what) const {
    if (!quiet_) out_ << what << "..." << std::endl;
  }

 private:
  std::ostream& out_;
  bool quiet_;
};

}  // namespace tinydeploy::cli
