#pragma once

#include <stdexcept>
#include <string>

namespace tgcli {

// Exit statuses of the timegan executable (listed in `timegan --help`, `timegan train --help`
// and the README).
constexpr int kExitOk = 0;
constexpr int kExitError = 1;      // bad input, I/O error, any other failure
constexpr int kExitUsage = 2;      // bad command line
constexpr int kExitDiverged = 3;   // training stopped: a loss or a weight became NaN or infinite
constexpr int kExitTimeUp = 75;    // --max-time reached; checkpoint written (EX_TEMPFAIL)
constexpr int kExitSigint = 130;   // interrupted by SIGINT (Ctrl-C); checkpoint written
constexpr int kExitSigterm = 143;  // interrupted by SIGTERM; checkpoint written

/// The exit statuses as help text, one per line.
const char* exit_status_help();

int cmd_train(int argc, char** argv);
int cmd_generate(int argc, char** argv);
int cmd_evaluate(int argc, char** argv);
}  // namespace tgcli
