// timegan: train, generate and evaluate from the command line.
// Every error is one line on stderr and a non-zero exit status (2 for usage, 1 otherwise).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "args.h"
#include "commands.h"

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

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  try {
    if (cmd == "train") return tgcli::cmd_train(argc, argv);
    if (cmd == "generate") return tgcli::cmd_generate(argc, argv);
    if (cmd == "evaluate") return tgcli::cmd_evaluate(argc, argv);
    std::fprintf(stderr, "timegan: unknown command '%s' (commands: train, generate, evaluate; see timegan --help)\n", cmd.c_str());
    return 2;
  } catch (const tgcli::UsageError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "timegan %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}
