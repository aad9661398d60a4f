// timegan: train, generate and evaluate from the command line.
// Every error is one line on stderr and a non-zero exit status (see exit_status_help()).
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "args.h"
#include "commands.h"
#include "tg/app/run.h"

namespace {
const char* kUsage =
    "usage: timegan <command> [options]\n"
    "\n"
    "TimeGAN (Yoon, Jarrett & van der Schaar, NeurIPS 2019) as a native tool.\n"
    "\n"
    "commands:\n"
    "  train      train on a CSV, an NPY file of windows or the built-in sine data\n"
    "  generate   write synthetic sequences from a trained run, in the data's units\n"
    "  evaluate   score synthetic data against real data and write an HTML report\n"
    "\n"
    "Run 'timegan <command> --help' for the options of a command.\n";
}

namespace tgcli {
const char* exit_status_help() {
  return "exit status:\n"
         "  0    done\n"
         "  1    error (bad input, I/O, anything else; one line on stderr)\n"
         "  2    bad command line (also: train --out on a directory holding a run, without --overwrite;\n"
         "       a run directory in use by another timegan process)\n"
         "  3    train: training diverged (a loss or a weight became NaN or infinite);\n"
         "       model.ckpt keeps the last good checkpoint, no synthetic.csv is written\n"
         "  75   train: --max-time reached; checkpoint written, continue with --resume\n"
         "  130  train: interrupted by SIGINT (Ctrl-C); checkpoint written\n"
         "  143  train: interrupted by SIGTERM; checkpoint written\n";
}
}  // namespace tgcli

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    std::FILE* f = argc < 2 ? stderr : stdout;
    std::fputs(kUsage, f);
    std::fputs("\n", f);
    std::fputs(tgcli::exit_status_help(), f);
    return argc < 2 ? tgcli::kExitUsage : tgcli::kExitOk;
  }
  const std::string cmd = argv[1];
  try {
    if (cmd == "train") return tgcli::cmd_train(argc, argv);
    if (cmd == "generate") return tgcli::cmd_generate(argc, argv);
    if (cmd == "evaluate") return tgcli::cmd_evaluate(argc, argv);
    std::fprintf(stderr, "timegan: unknown command '%s' (commands: train, generate, evaluate; see timegan --help)\n", cmd.c_str());
    return tgcli::kExitUsage;
  } catch (const tgcli::UsageError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return tgcli::kExitUsage;
  } catch (const tg::app::RunBusy& e) {
    std::fprintf(stderr, "timegan %s: error: %s\n", cmd.c_str(), e.what());
    return tgcli::kExitUsage;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "timegan %s: error: out of memory (the data or the requested sizes are too large for this machine)\n",
                 cmd.c_str());
    return tgcli::kExitError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "timegan %s: error: %s\n", cmd.c_str(), e.what());
    return tgcli::kExitError;
  }
}
