#include "tinydeploy/cli/deploy.h"

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <ostream>
#include <vector>

#include "tinydeploy/board/board.h"
#include "tinydeploy/build/firmware_image.h"
#include "tinydeploy/cli/library.h"
#include "tinydeploy/cli/model_metadata.h"
#include "tinydeploy/cli/package.h"
#include "tinydeploy/cli/progress.h"
#include "tinydeploy/cli/target_session.h"
#include "tinydeploy/cli/validate.h"
#include "tinydeploy/common/artifact_directory.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/report/html.h"
#include "tinydeploy/report/metadata.h"

namespace tinydeploy::cli {
namespace {

namespace fs = std::filesystem;

// Every artifact deploy writes under DIR/NAME/, besides NAME.meta.json. Those a run did not
// produce (a stage skipped, or not reached) are removed at its end, so that everything in the
// directory belongs to the same run.
struct Artifacts {
  std::string package = "package";
  std::string stats;    // NAME_stats.csv
  std::string profile;  // NAME_profile.json
  std::string summary;  // NAME_summary.txt
  std::string library = "library";
  std::string report = "report.html";
  std::string validation = "validation.txt";
  std::string meta;  // NAME.meta.json

  explicit Artifacts(const std::string& name)
      : stats(name + "_stats.csv"),
        profile(name + "_profile.json"),
        summary(name + "_summary.txt"),
        meta(name + ".meta.json") {}

  std::vector<std::string> all() const {
    return {package, validation, stats, profile, summary, library, report, meta};
  }
};

std::string megas(int64_t value) {
  if (value >= 1'000'000) return fmt::format("{:.2f} M", static_cast<double>(value) / 1e6);
  if (value >= 1'000) return fmt::format("{:.1f} k", static_cast<double>(value) / 1e3);
  return fmt::format("{}", value);
}

// Runs the stages in order, one result line each, and on a failure says which stage stopped the
// flow and what is left.
class Flow {
 public:
  Flow(std::ostream& out, const Progress& progress, size_t stages)
      : out_(out), progress_(progress), stages_(stages) {}

  // `body` returns the stage's one-line result.
  void stage(std::string_view name, const std::function<std::string()>& body) {
    ++current_;
    progress_.step(fmt::format("[{}/{}] {}", current_, stages_, name));
    const auto start = std::chrono::steady_clock::now();
    std::string result;
    try {
      result = body();
    } catch (const Error& error) {
      throw Error("deploy stopped at {} (stage {} of {}): {}", name, current_, stages_,
                  error.what());
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    out_ << fmt::format("[{}/{}] {:<9} {} ({:.1f} s)\n", current_, stages_, name, result, seconds)
         << std::flush;
  }

  void skip(std::string_view name, std::string_view why) {
    ++current_;
    out_ << fmt::format("[{}/{}] {:<9} skipped: {}\n", current_, stages_, name, why);
  }

 private:
  std::ostream& out_;
  const Progress& progress_;
  size_t stages_;
  size_t current_ = 0;
};

// The earlier run's metadata in the output directory, if it can be read (it only decides what
// may be reused, so a damaged one is simply not used).
std::optional<report::Metadata> earlier_metadata(const ArtifactDirectory& dir,
                                                 const std::string& file) {
  if (!dir.contains(file)) return std::nullopt;
  try {
    return report::read_metadata(dir.path() / file);
  } catch (const Error&) {
    return std::nullopt;
  }
}

std::string validation_line(const report::ValidationMeta& v) {
  double max_lsb = 0;
  double max_real = 0;
  for (const report::OutputValidationMeta& o : v.outputs) {
    max_lsb = std::max(max_lsb, o.max_lsb);
    max_real = std::max(max_real, o.max_real);
  }
  return fmt::format(
      "{}: {} run(s) against {}, max {:.0f} LSB, max real difference {:.3g}{}",
      v.pass ? "PASS" : "FAIL", v.runs, v.reference, max_lsb, max_real,
      v.first_divergence.empty() ? std::string() : "; first divergence: " + v.first_divergence);
}

std::string profile_line(const report::Metadata& m) {
  const report::ProfileMeta& p = *m.profile;
  const size_t time = report::time_counter(p);
  const double ms = report::counter_seconds(p, p.total.median[time]) * 1e3;
  if (time == report::kEstCyclesCounter) {
    return fmt::format(
        "{:.3f} ms at {:g} MHz (estimated cycles), {} instructions (counted), {} layers, median "
        "of {}",
        ms, p.clock_hz / 1e6,
        megas(static_cast<int64_t>(p.total.median[report::kInstructionsCounter])), m.layers.size(),
        p.runs);
  }
  return fmt::format("{:.3f} ms ({}: measured {}), {} layers, median of {}", ms, p.method,
                     report::time_counter_label(p), m.layers.size(), p.runs);
}

}  // namespace

int run_deploy(const DeployOptions& options, std::ostream& out) {
  const Progress progress(out, options.quiet);

  // What can be refused is refused before anything is written.
  std::optional<report::Metadata> recorded;
  if (options.from_metadata) recorded = report::read_metadata(*options.from_metadata);
  const std::string target_name =
      options.target ? *options.target : (recorded ? recorded->target : std::string("qemu-m4"));
  const board::Target target = board::parse_target(target_name);
  if (target.board.runner == board::Runner::Serial) {
    throw Error(
        "--target {}: deploy builds and runs the target itself (host, qemu-m4, qemu-m55); for a "
        "board on a serial line, flash `tinydeploy firmware` and run `tinydeploy validate`",
        target_name);
  }
  const bool runs_code = target.board.runner != board::Runner::None;
  const bool profile_possible = target.board.runner == board::Runner::Qemu ||
                                target.board.runner == board::Runner::HostProcess;
  const bool validate = options.validate && runs_code && !recorded;
  const bool profile = options.profile && profile_possible && !recorded;

  std::error_code ec;
  if (!fs::is_directory(options.output_dir, ec)) {
    if (fs::exists(fs::symlink_status(options.output_dir, ec))) {
      throw Error("-o {}: not a directory", options.output_dir.string());
    }
    if (!fs::create_directory(options.output_dir, ec) || ec) {
      throw Error("-o {}: cannot create it ({}); its parent directory must exist",
                  options.output_dir.string(), ec ? ec.message() : "it exists");
    }
  }

  PackageCommandOptions package_options;
  package_options.model = options.model;
  package_options.target = target_name;
  package_options.name = options.name;
  package_options.quiet = true;
  const size_t stage_count = 7;
  Flow flow(out, progress, stage_count);

  // 1. inspect: read, check and lower the model (every refusal at once), plan its memory.
  std::optional<PreparedPackage> prepared;
  flow.stage("inspect", [&] {
    prepared.emplace(prepare_package(package_options));
    if (recorded) {
      require_same_model(*recorded, prepared->model, options.from_metadata->string());
    }
    const analysis::ModelAnalysis& analysis = prepared->lowered.analysis;
    return fmt::format("{}: {} operators, {} MACs, arena {} B, variables {} B, weights {} B",
                       options.model.filename().string(), analysis.layers.size(),
                       megas(analysis.total_macs), prepared->package.arena_bytes,
                       prepared->package.variable_bytes, prepared->package.weight_bytes);
  });
  const codegen::Package& package = prepared->package;
  const Artifacts artifacts(package.name);
  ArtifactDirectory dir(OutputRequest{options.output_dir / package.name, options.model,
                                      options.from_metadata
                                          ? std::vector<fs::path>{*options.from_metadata}
                                          : std::vector<fs::path>{},
                                      options.force, "deploy"});
  const std::optional<report::Metadata> earlier = earlier_metadata(dir, artifacts.meta);

  report::Metadata metadata = describe_package(*prepared, target_name);
  if (recorded) {
    metadata.profile = recorded->profile;
    metadata.validation = recorded->validation;
  }
  std::vector<std::string> written;
  // On the way out, success or not: the metadata of what this run did, and no artifact of an
  // earlier run left beside this run's.
  auto finish = [&] {
    dir.write_file(artifacts.meta, report::metadata_json(metadata));
    written.push_back(artifacts.meta);
    for (const std::string& name : artifacts.all()) {
      if (std::find(written.begin(), written.end(), name) == written.end()) dir.remove(name);
    }
  };

  try {
    // 2. generate: the package's sources.
    flow.stage("generate", [&] {
      TemporaryDirectory staged = dir.stage();
      codegen::write_files(package.files, staged.path());
      dir.install_directory(staged, artifacts.package);
      written.push_back(artifacts.package);
      return fmt::format("{}/ ({} files, kernels: {})", artifacts.package, package.files.size(),
                         fmt::join(package.kernel_sources, ", "));
    });

    // 3. build: the image validate and profile run (built once per content, then reused).
    if (validate || profile) {
      flow.stage("build", [&] {
        const build::FirmwareImage image = build_validator(package, target.board, progress);
        return fmt::format("validator for {}{}", target.board.name,
                           image.reused ? " (reused: built earlier from the same sources)" : "");
      });
    } else {
      flow.skip("build", "nothing runs on the target");
    }

    // 4. validate: the target against the PC reference.
    bool validation_failed = false;
    if (validate) {
      flow.stage("validate", [&] {
        ValidateOptions v;
        v.model = options.model;
        v.target = target_name;
        v.runs = options.validate_runs;
        v.seed = options.seed;
        v.reference = options.reference;
        v.tolerance = options.tolerance;
        v.timeout_seconds = options.profile_settings.timeout_seconds;
        v.quiet = options.quiet;
        ValidationOutcome outcome = validate_on_target(v, &package, progress);
        dir.write_file(artifacts.validation, outcome.text);
        written.push_back(artifacts.validation);
        metadata.validation = std::move(outcome.meta);
        validation_failed = !metadata.validation->pass;
        return validation_line(*metadata.validation);
      });
    } else if (recorded) {
      flow.skip("validate", recorded->validation ? "from " + options.from_metadata->string() +
                                                       ": " + validation_line(*recorded->validation)
                                                 : "the metadata holds no validation");
    } else {
      flow.skip("validate", !options.validate ? "--no-validate" : "this target runs no code");
    }
    if (validation_failed) {
      finish();
      out << fmt::format(
          "deploy stopped: {} on {} differs from {} (see {}); the package and {} are in {}\n",
          options.model.filename().string(), target_name, options.reference,
          (dir.path() / artifacts.validation).string(), artifacts.meta, dir.path().string());
      return kDeployValidationFailed;
    }

    // 5. profile: per layer on the emulated board.
    if (profile) {
      flow.stage("profile", [&] {
        ProfileOutcome outcome = profile_on_target(*prepared, target_name, options.profile_settings,
                                                   std::nullopt, progress);
        metadata.profile = std::move(outcome.meta);
        dir.write_file(artifacts.profile, outcome.raw_json);
        written.push_back(artifacts.profile);
        return profile_line(metadata);
      });
    } else if (recorded) {
      flow.skip("profile", recorded->profile ? "from " + options.from_metadata->string() + ": " +
                                                   profile_line(metadata)
                                             : "the metadata holds no profile");
    } else {
      flow.skip("profile",
                !options.profile ? "--no-profile" : "a bare core runs nothing to profile");
    }
    if (metadata.profile) {
      dir.write_file(artifacts.stats, profile_stats_csv(metadata));
      dir.write_file(artifacts.summary, profile_summary(metadata));
      written.push_back(artifacts.stats);
      written.push_back(artifacts.summary);
    }

    // 6. library: the static library, its header, the example and the memory report; reused
    // when the package is the very one the library in place was built from.
    if (options.library) {
      flow.stage("library", [&] {
        const bool reusable =
            earlier && earlier->library && earlier->package_sha256 == metadata.package_sha256 &&
            earlier->library->core == metadata.core && dir.contains(artifacts.library);
        if (reusable) {
          metadata.library = earlier->library;
        } else {
          TemporaryDirectory staged = dir.stage();
          const LibraryOutcome library =
              build_library(*prepared, options.model.string(), staged.path(), progress);
          dir.install_directory(staged, artifacts.library);
          metadata.library = library_meta(library.report, target.board.core);
        }
        written.push_back(artifacts.library);
        std::string note;
        if (reusable) {
          note = "; reused: built earlier from the same package";
        } else if (target.board.core == board::Core::Host) {
          note = "; the example ran and passed";
        }
        return fmt::format("{}/ (flash {} B, RAM {} B{})", artifacts.library,
                           metadata.library->flash_total, metadata.library->ram_total, note);
      });
    } else {
      flow.skip("library", "--no-library");
    }

    // 7. report: one self-contained page.
    flow.stage("report", [&] {
      dir.write_file(artifacts.report, report::render_report(metadata));
      written.push_back(artifacts.report);
      return artifacts.report;
    });
  } catch (...) {
    try {
      finish();
    } catch (const Error&) {
      // The stage's own error is the one to report.
    }
    throw;
  }
  finish();

  out << fmt::format("deployed {} for {} into {}/\n", options.model.filename().string(),
                     target_name, dir.path().string());
  for (const std::string& name : artifacts.all()) {
    if (std::find(written.begin(), written.end(), name) != written.end()) {
      out << fmt::format("  {}\n", (dir.path() / name).string());
    }
  }
  return 0;
}

}  // namespace tinydeploy::cli
