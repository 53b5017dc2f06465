// tinydeploy: the command-line entry point. Each subcommand lives in its own file; this one
// only wires arguments to them and turns errors into one line and an exit code.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>

#include "tinydeploy/board/board.h"
#include "tinydeploy/cli/deploy.h"
#include "tinydeploy/cli/firmware.h"
#include "tinydeploy/cli/generate.h"
#include "tinydeploy/cli/inspect.h"
#include "tinydeploy/cli/library.h"
#include "tinydeploy/cli/option_values.h"
#include "tinydeploy/cli/profile.h"
#include "tinydeploy/cli/report.h"
#include "tinydeploy/cli/run.h"
#include "tinydeploy/cli/validate.h"
#include "tinydeploy/common/error.h"
#include "tinydeploy/common/interrupt.h"
#include "tinydeploy/common/text.h"

namespace {

constexpr int kExitError = 1;

// Progress is for people at a terminal; CI logs and pipes get only the result.
bool quiet_unless_at_a_terminal(bool quiet) {
  return quiet || std::getenv("CI") != nullptr || isatty(fileno(stdout)) == 0;
}

// --target values come from the board registry; a wrong one is a usage error naming them all.
CLI::Validator board_check() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        try {
          tinydeploy::board::parse_target(value);
        } catch (const tinydeploy::Error& error) {
          return error.what();
        }
        return {};
      },
      "BOARD");
}

void add_max_arena_option(CLI::App& command, int64_t& max_arena_bytes) {
  command
      .add_option("--max-arena", max_arena_bytes,
                  "Refuse a model whose tensor arena is larger (bytes, or with a unit K, M, G); "
                  "checked before anything is allocated")
      ->transform(CLI::Validator(tinydeploy::cli::check_byte_size, "SIZE[K|M|G]"))
      ->capture_default_str();
}

void add_inspect_command(CLI::App& app, tinydeploy::cli::InspectOptions& options) {
  CLI::App* inspect = app.add_subcommand(
      "inspect", "Summarise a model: inputs/outputs, operators, MACs, parameters, memory plan");
  inspect->add_option("model", options.model, "The .tflite model to inspect")->required();
  inspect->add_flag("--json", options.json, "Print one JSON document instead of text");
  inspect->add_flag("--layers", options.layers,
                    "Add one row per operator: output shape, MACs, weights, arena placement");
  inspect->callback([&options] { tinydeploy::cli::run_inspect(options, std::cout); });
}

void add_run_command(CLI::App& app, tinydeploy::cli::RunOptions& options, int& exit_code) {
  CLI::App* run = app.add_subcommand(
      "run",
      "Run one inference (or --invokes N) on the host with tinydeploy's runtime; compare with "
      "the PC reference");
  run->add_option("model", options.model, "The .tflite model to run")->required();
  run->add_option("--input", options.inputs,
                  "Input file (.npy, or single-line .csv), one per model input, in order (with "
                  "--invokes N: N times as many, invoke 0's first); or one .npz (a leading "
                  "invoke axis for N invokes)");
  run->add_option("--invokes", options.invokes,
                  "Run N consecutive invokes with state carried, each with its own inputs, and "
                  "compare every one with the reference (default 1)")
      ->check(CLI::Range(size_t{1}, size_t{100000}));
  run->add_option("--random", options.seed,
                  "Seed for random inputs, 0 to 2^64-1 (the default when no --input is given: "
                  "seed 0)")
      ->transform(CLI::Validator(tinydeploy::cli::check_seed, "SEED in 0..2^64-1"));
  run->add_option("-o,--output-dir", options.output_dir,
                  "Write inputs and outputs as .npy here (a new directory, or one tinydeploy "
                  "wrote; replaced atomically)");
  run->add_flag("--force", options.force,
                "Let -o replace an existing directory that tinydeploy did not write");
  run->add_option("--reference", options.reference,
                  "Also run the PC reference and compare: litert (TFLite reference kernels) or "
                  "tflm (TFLite Micro)")
      ->check(CLI::IsMember({"litert", "tflm"}));
  run->add_flag("--layers", options.layers,
                "Compare every intermediate tensor and name the first operator that diverges");
  run->add_flag("--csv", options.csv, "Also write outputs as CSV");
  add_max_arena_option(*run, options.max_arena_bytes);
  run->callback(
      [&options, &exit_code] { exit_code = tinydeploy::cli::run_model(options, std::cout); });
}

void add_package_options(CLI::App& command, tinydeploy::cli::PackageCommandOptions& options) {
  command.add_option("model", options.model, "The .tflite model")->required();
  command
      .add_option("--target", options.target,
                  "The core to generate for: host, cortex-m4, cortex-m55, or a board (qemu-m4, "
                  "qemu-m55) for its core")
      ->check(board_check())
      ->capture_default_str();
  command
      .add_option("-o,--output-dir", options.output_dir,
                  "Directory to write: a new one, or one tinydeploy wrote (replaced atomically; "
                  "its parent must exist)")
      ->required();
  command.add_flag("--force", options.force,
                   "Let -o replace an existing directory that tinydeploy did not write");
  command.add_option("--name", options.name,
                     "Prefix of the files and C symbols (default: the model file's name)");
  command
      .add_option("--example-seed", options.example_seed,
                  "Seed of the example's random inputs, 0 to 2^64-1, as for `run --random`")
      ->transform(CLI::Validator(tinydeploy::cli::check_seed, "SEED in 0..2^64-1"))
      ->capture_default_str();
  command
      .add_option("--example-invokes", options.example_invokes,
                  "Consecutive invokes the example runs and checks, state carried, as for `run "
                  "--invokes` (default: 1, or 4 for a model with state); with more than one, the "
                  "example also checks that NAME_reset() gives the first outputs again")
      ->check(CLI::Range(size_t{1}, size_t{1000}));
  add_max_arena_option(command, options.max_arena_bytes);
  command
      .add_option("--max-example-data", options.max_example_bytes,
                  "Refuse a model whose example inputs and expected outputs together are larger "
                  "(bytes, or with a unit K, M, G)")
      ->transform(CLI::Validator(tinydeploy::cli::check_byte_size, "SIZE[K|M|G]"))
      ->capture_default_str();
}

void add_generate_command(CLI::App& app, tinydeploy::cli::PackageCommandOptions& options) {
  CLI::App* generate = app.add_subcommand(
      "generate",
      "Write a C++ deployment package: model code and data, C API header, CMake project with "
      "only the kernels the model uses, and an example");
  add_package_options(*generate, options);
  generate->callback([&options] { tinydeploy::cli::run_generate(options, std::cout); });
}

void add_library_command(CLI::App& app, tinydeploy::cli::PackageCommandOptions& options) {
  CLI::App* library = app.add_subcommand(
      "library",
      "Generate and build: lib/libNAME.a, include/NAME.h, example/ and a flash/RAM memory report");
  add_package_options(*library, options);
  library->add_flag("-q,--quiet", options.quiet, "No progress lines");
  library->callback([&options] {
    tinydeploy::cli::PackageCommandOptions effective = options;
    effective.quiet = quiet_unless_at_a_terminal(options.quiet);
    tinydeploy::cli::run_library(effective, std::cout);
  });
}

void add_validate_command(CLI::App& app, tinydeploy::cli::ValidateOptions& options,
                          int& exit_code) {
  CLI::App* validate = app.add_subcommand(
      "validate",
      "Run the model on a target and on the PC reference with the same inputs; compare every "
      "output and, on a mismatch, name the first layer that diverges");
  validate->add_option("model", options.model, "The .tflite model")->required();
  validate
      ->add_option("--target", options.target,
                   "host, qemu-m4, qemu-m55, or serial:DEVICE[@BAUD] for a flashed board")
      ->check(board_check())
      ->capture_default_str();
  validate->add_option("--runs", options.runs, "Inferences with seeded random inputs")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  validate->add_option("--seed", options.seed, "Seed of the first run's random inputs")
      ->capture_default_str();
  validate->add_option("--inputs", options.inputs,
                       ".npz with every model input (by input name, input_<i> or arr_<i>), "
                       "optionally with a leading run axis");
  validate->add_option("--package", options.package,
                       "Validate this package (written by `generate`, maybe edited) instead of "
                       "generating one");
  validate->add_option("--reference", options.reference, "tflm (TFLite Micro) or litert")
      ->check(CLI::IsMember({"tflm", "litert"}))
      ->capture_default_str();
  validate
      ->add_option("--tolerance", options.tolerance,
                   "Largest difference accepted on integer outputs, in LSB")
      ->capture_default_str();
  validate->add_flag("--trace", options.trace,
                     "Also compare every layer's output (always done after a FAIL)");
  validate
      ->add_option("--timeout", options.timeout_seconds,
                   "Seconds one inference may take on the target")
      ->check(CLI::Range(0.1, 86400.0))
      ->capture_default_str();
  validate->add_flag("-q,--quiet", options.quiet, "No progress lines");
  validate->callback([&options, &exit_code] {
    tinydeploy::cli::ValidateOptions effective = options;
    effective.quiet = quiet_unless_at_a_terminal(options.quiet);
    exit_code = tinydeploy::cli::run_validate(effective, std::cout);
  });
}

void add_firmware_command(CLI::App& app, tinydeploy::cli::FirmwareOptions& options) {
  CLI::App* firmware = app.add_subcommand(
      "firmware",
      "Write the validator firmware for a board as a CMake project and build it (to flash a "
      "real board for `validate --target serial:...`, or to run by hand)");
  firmware->add_option("model", options.model, "The .tflite model")->required();
  firmware
      ->add_option("--target", options.target,
                   "host, qemu-m4, qemu-m55, or a core (cortex-m4, cortex-m55) to add a port to")
      ->check(board_check())
      ->capture_default_str();
  firmware->add_option("-o,--output-dir", options.output_dir, "Directory to write")->required();
  firmware->add_option("--package", options.package,
                       "Use this package (written by `generate`) instead of generating one");
  firmware->add_flag("--force", options.force,
                     "Replace an existing directory that tinydeploy did not write");
  firmware->add_flag("-q,--quiet", options.quiet, "No progress lines");
  firmware->callback([&options] {
    tinydeploy::cli::FirmwareOptions effective = options;
    effective.quiet = quiet_unless_at_a_terminal(options.quiet);
    tinydeploy::cli::run_firmware(effective, std::cout);
  });
}

void add_profile_settings(CLI::App& command, tinydeploy::cli::ProfileSettings& settings) {
  command.add_option("--runs", settings.runs, "Inferences profiled (the first is the cold one)")
      ->check(CLI::Range(uint32_t{1}, uint32_t{100000}))
      ->capture_default_str();
  command
      .add_option("--clock-mhz", settings.clock_mhz,
                  "Core clock the times are given at (default: the board's)")
      ->check(CLI::PositiveNumber);
  command.add_option("--icache", settings.icache, "Simulated instruction cache SIZE:WAYS:LINE")
      ->check(CLI::Validator(tinydeploy::cli::check_cache_geometry, "SIZE:WAYS:LINE"))
      ->capture_default_str();
  command.add_option("--dcache", settings.dcache, "Simulated data cache SIZE:WAYS:LINE")
      ->check(CLI::Validator(tinydeploy::cli::check_cache_geometry, "SIZE:WAYS:LINE"))
      ->capture_default_str();
}

void add_profile_command(CLI::App& app, tinydeploy::cli::ProfileOptions& options, int& exit_code) {
  CLI::App* profile = app.add_subcommand(
      "profile",
      "Profile every layer: on an emulated board under tinydeploy's QEMU plugin (counted "
      "instructions, loads, stores and branches, simulated caches, estimated cycles), on the host "
      "or a board on a serial line with its own tick counter and DWT counters (measured time, "
      "cycles, CPI, exception, sleep, load-store and folded counts); writes NAME_stats.csv, "
      "NAME.meta.json and a summary");
  profile->add_option("model", options.model, "The .tflite model")->required();
  profile
      ->add_option("--target", options.target,
                   "qemu-m4, qemu-m55, host, or serial:DEVICE[@BAUD] (a board flashed with the "
                   "validator of `tinydeploy firmware`)")
      ->check(board_check())
      ->capture_default_str();
  profile
      ->add_option("--core", options.core,
                   "The core of a board on a serial line (cortex-m4, cortex-m55), for the "
                   "package and the metadata")
      ->capture_default_str();
  add_profile_settings(*profile, options.settings);
  profile->add_option("-o,--output-dir", options.output_dir,
                      "Directory to write (default: NAME_profile): a new one, or one tinydeploy "
                      "wrote (replaced atomically)");
  profile->add_flag("--force", options.force,
                    "Let -o replace an existing directory that tinydeploy did not write");
  profile->add_option("--package", options.package,
                      "Profile this package directory (written by generate, maybe edited) "
                      "instead of generating one");
  profile->add_option("--baseline", options.baseline,
                      "An earlier NAME.meta.json: exit 1 when a layer or the total is slower by "
                      "more than --max-regression");
  profile
      ->add_option("--max-regression", options.max_regression_percent,
                   "Percent of cycles (estimated or measured) or ticks a layer or the total may "
                   "grow over the baseline")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  profile->add_option("--seed", options.settings.seed, "Seed of the first run's random inputs")
      ->transform(CLI::Validator(tinydeploy::cli::check_seed, "SEED in 0..2^64-1"));
  profile
      ->add_option("--timeout", options.settings.timeout_seconds,
                   "Seconds allowed for one inference")
      ->check(CLI::PositiveNumber);
  profile->add_flag("-q,--quiet", options.quiet, "No progress lines");
  profile->callback([&options, &exit_code] {
    tinydeploy::cli::ProfileOptions effective = options;
    effective.quiet = quiet_unless_at_a_terminal(options.quiet);
    exit_code = tinydeploy::cli::run_profile(effective, std::cout);
  });
}

void add_deploy_command(CLI::App& app, tinydeploy::cli::DeployOptions& options, int& exit_code) {
  CLI::App* deploy = app.add_subcommand(
      "deploy",
      "The whole flow: inspect, generate, build, validate, profile, library, report; every "
      "artifact under DIR/NAME/");
  deploy->add_option("model", options.model, "The .tflite model")->required();
  deploy
      ->add_option("--target", options.target,
                   "host, qemu-m4 or qemu-m55 (default: the metadata's target with "
                   "--from-metadata, else qemu-m4)")
      ->check(board_check());
  deploy
      ->add_option("-o,--output-dir", options.output_dir,
                   "Directory the artifacts go to, as DIR/NAME/ (DIR is created if its parent "
                   "exists; DIR/NAME must be new, empty or written by tinydeploy)")
      ->required();
  deploy->add_option("--name", options.name,
                     "NAME: prefix of the files and C symbols (default: the model file's name)");
  deploy->add_flag("!--no-validate", options.validate, "Skip validation against the PC reference");
  deploy->add_flag("!--no-profile", options.profile, "Skip profiling");
  deploy->add_flag("!--no-library", options.library, "Skip building the static library");
  deploy->add_option("--from-metadata", options.from_metadata,
                     "Take validation and profile from this NAME.meta.json (of the same model) "
                     "instead of running the target; the library and the report are rebuilt");
  deploy
      ->add_option("--validate-runs", options.validate_runs,
                   "Inferences compared with the reference")
      ->check(CLI::Range(uint32_t{1}, uint32_t{100000}))
      ->capture_default_str();
  deploy->add_option("--reference", options.reference, "PC reference: tflm or litert")
      ->check(CLI::IsMember({"litert", "tflm"}))
      ->capture_default_str();
  deploy->add_option("--tolerance", options.tolerance, "LSB allowed on integer outputs")
      ->capture_default_str();
  deploy->add_option("--seed", options.seed, "Seed of the random inputs")
      ->transform(CLI::Validator(tinydeploy::cli::check_seed, "SEED in 0..2^64-1"));
  options.profile_settings.runs = 5;
  add_profile_settings(*deploy, options.profile_settings);
  deploy
      ->add_option("--timeout", options.profile_settings.timeout_seconds,
                   "Seconds allowed for one inference on the target")
      ->check(CLI::PositiveNumber);
  deploy->add_flag("--force", options.force,
                   "Let DIR/NAME replace an existing directory that tinydeploy did not write");
  deploy->add_flag("-q,--quiet", options.quiet, "No progress lines");
  deploy->callback([&options, &exit_code] {
    tinydeploy::cli::DeployOptions effective = options;
    effective.quiet = quiet_unless_at_a_terminal(options.quiet);
    exit_code = tinydeploy::cli::run_deploy(effective, std::cout);
  });
}

void add_report_command(CLI::App& app, tinydeploy::cli::ReportOptions& options) {
  CLI::App* report = app.add_subcommand(
      "report",
      "Write report.html from a model's metadata (NAME.meta.json): one self-contained page with "
      "the summary, time per layer, MACs against time, cycles per MAC, the memory plan and the "
      "validation result");
  report->add_option("metadata", options.metadata, "The NAME.meta.json to draw from")->required();
  report
      ->add_option("-o,--output", options.output,
                   "The HTML file to write: a new file, or a report tinydeploy wrote (replaced "
                   "atomically; its directory must exist)")
      ->required();
  report->add_flag("--force", options.force,
                   "Let -o replace an existing file that is not a tinydeploy report");
  report->callback([&options] { tinydeploy::cli::run_report(options, std::cout); });
}

}  // namespace

int main(int argc, char** argv) {
  // First, before any thread: SIGINT/SIGTERM stop the running child and remove temporary files.
  tinydeploy::interrupt::handle_interrupt_signals();
  CLI::App app{"tinydeploy: from a TensorFlow Lite model to minimal C++ for Cortex-M",
               "tinydeploy"};
  app.set_version_flag("--version", "tinydeploy 0.1.0");
  app.require_subcommand(1);

  tinydeploy::cli::InspectOptions inspect_options;
  add_inspect_command(app, inspect_options);
  tinydeploy::cli::RunOptions run_options;
  int exit_code = 0;
  add_run_command(app, run_options, exit_code);
  tinydeploy::cli::PackageCommandOptions generate_options;
  add_generate_command(app, generate_options);
  tinydeploy::cli::PackageCommandOptions library_options;
  add_library_command(app, library_options);
  tinydeploy::cli::ValidateOptions validate_options;
  add_validate_command(app, validate_options, exit_code);
  tinydeploy::cli::FirmwareOptions firmware_options;
  add_firmware_command(app, firmware_options);
  tinydeploy::cli::ProfileOptions profile_options;
  add_profile_command(app, profile_options, exit_code);
  tinydeploy::cli::DeployOptions deploy_options;
  add_deploy_command(app, deploy_options, exit_code);
  tinydeploy::cli::ReportOptions report_options;
  add_report_command(app, report_options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  } catch (const tinydeploy::Error& error) {
    std::cout.flush();
    // Messages quote names from the model: no control byte of theirs reaches the terminal.
    std::fprintf(stderr, "error: %s\n", tinydeploy::printable_message(error.what()).c_str());
    return kExitError;
  } catch (const std::exception& error) {
    // Not expected: every user error is a tinydeploy::Error. Still one line, never a crash.
    std::cout.flush();
    std::fprintf(stderr, "error: internal: %s\n",
                 tinydeploy::printable_message(error.what()).c_str());
    return kExitError;
  }
  return exit_code;
}
