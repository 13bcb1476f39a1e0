// The wfc program: train, generate and evaluate GPT and WFC language models from the command line.
//
//   wfc train text.txt --model wfc --future 4 --out model.safetensors [--metrics run.csv] [--config run.json]
//   wfc train text.txt --resume model.safetensors             (continues exactly where the checkpoint left off)
//   wfc generate model.safetensors --prompt "KING:" --policy threshold --tau 1 --observer steps.jsonl
//   wfc eval model.safetensors text.txt
//   wfc info model.safetensors                                (what a checkpoint holds and where it came from)
//
// `wfc <command> --help` lists every flag. Exit status 0 on success; on bad input, 1 and one line
// "error: …" that says what to fix; 75 when a signal (SIGTERM, SIGINT, SIGUSR1) stopped `wfc train`
// after it saved: resume it.
//
// Built with MPI, `mpirun -np N wfc train …` trains data-parallel over N ranks (train.hpp); rank 0
// alone prints.
#include "config_file.hpp"
#include "eval.hpp"
#include "generate.hpp"
#include "info.hpp"
#include "train.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <optional>

#if defined(WFC_HAVE_MPI)
#include "wfc/mpi/process_group.hpp"
#endif

#if !defined(WFC_HAVE_MPI)
namespace {

// How many processes an MPI launcher started with this one (1 when none did), read from the
// launcher's environment, so that a wfc built without MPI can tell too.
int launched_processes() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"})
    if (const char* n = std::getenv(name)) return std::max(1, std::atoi(n));
  return 1;
}

}  // namespace
#endif

int main(int argc, char** argv) {
#if defined(WFC_HAVE_MPI)
  std::optional<wfc::mpi::environment> mpi;  // only under a launcher: a plain run never touches MPI
  std::optional<wfc::mpi::process_group> ranks;
  if (wfc::mpi::launched()) {
    try {
      mpi.emplace(argc, argv);
      ranks.emplace();
    } catch (const wfc::error& e) {
      std::fprintf(stderr, "error: %s\n", e.what());
      return 1;
    }
    // One voice: rank 0 prints, and says every error, since errors are agreed; the other ranks keep
    // stderr for what is not (a crash, a library's own message).
    if (ranks->rank() != 0 && !std::freopen("/dev/null", "w", stdout)) return 1;
  }
  const bool speaker = !ranks || ranks->rank() == 0;
#else
  if (launched_processes() > 1) {
    std::fprintf(stderr, "error: started as one of %d processes, but this wfc was built without MPI: each would train alone and all "
                 "would write the same files; rebuild with MPI (Debian: libopenmpi-dev) or start one process\n", launched_processes());
    return 1;
  }
  const bool speaker = true;
#endif
  CLI::App app{"wfc: train, generate and evaluate GPT and Wave Function Collapse language models (" + std::string(wfc::version_string) + ")"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("wfc ") + wfc::version_string);

  wfc_cli::train_options train;
  CLI::App* train_cmd = app.add_subcommand("train", "train a GPT or a WFC model on a text file, with checkpoints");
  train_cmd->option_defaults()->always_capture_default();
  train_cmd->add_option("--config", "read flags from this JSON file ({\"width\": 64, \"min_lr\": 1e-4}); flags given here win");
  train.add(*train_cmd);
  train.command.assign(argv, argv + argc);

  wfc_cli::generate_options generate;
  CLI::App* generate_cmd = app.add_subcommand("generate", "generate text from a checkpoint");
  generate_cmd->option_defaults()->always_capture_default();
  generate.add(*generate_cmd);

  wfc_cli::eval_options eval;
  CLI::App* eval_cmd = app.add_subcommand("eval", "a checkpoint's loss on a text");
  eval_cmd->option_defaults()->always_capture_default();
  eval.add(*eval_cmd);

  wfc_cli::info_options info;
  CLI::App* info_cmd = app.add_subcommand("info", "what a checkpoint holds and where it came from, without reading its weights");
  info.add(*info_cmd);

  try {
    std::vector<std::string> args;
    const auto expand = [&] { args = wfc_cli::expand_config(argc, argv, "train"); };  // reads --config: agreed under MPI
#if defined(WFC_HAVE_MPI)
    if (ranks) ranks->together(expand);
    else expand();
#else
    expand();
#endif
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    args.pop_back();                         // and without the program's name
    app.parse(args);
  } catch (const wfc::error& e) {
    if (speaker) std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const CLI::ParseError& e) {
    if (!speaker) return e.get_exit_code();
    if (e.get_exit_code() != 0) {  // one line, as every other error (--help and --version print and exit 0)
      std::fprintf(stderr, "error: %s (see wfc --help, or wfc <command> --help)\n", e.what());
      return e.get_exit_code();
    }
    return app.exit(e);
  }
  const auto run = [&] {
#if defined(WFC_HAVE_MPI)
    if (ranks && ranks->size() > 1 && !train_cmd->parsed())
      throw wfc::config_error("only `wfc train` is data-parallel: start generate, eval and info as one process, without mpirun");
    if (train_cmd->parsed() && ranks) return wfc_cli::run_train(train, *ranks);
#endif
    if (train_cmd->parsed()) return wfc_cli::run_train(train, wfc::single_process{});
    if (generate_cmd->parsed()) return wfc_cli::run_generate(generate);
    if (info_cmd->parsed()) return wfc_cli::run_info(info);
    return wfc_cli::run_eval(eval);
  };
  if (!speaker) {  // the errors every rank agreed on are rank 0's to say
    try {
      return run();
    } catch (const wfc::error&) {
      return 1;
    }
  }
  return wfc_examples::exit_code(run);
}
