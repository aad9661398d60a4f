// Command-line pieces shared by the timegan subcommands: the data options of train and
// evaluate, and the application layer's names brought into the CLI's namespace.
#pragma once

#include <string>
#include <vector>

#include "args.h"
#include "tg/app/run.h"

namespace tgcli {

using namespace tg::app;

/// The data options common to train and evaluate (as stored in config.json "data").
std::vector<OptionSpec> data_option_specs();
/// The data options as stored in config.json; `data_opt` names the option holding the data
/// source ("data" for train, "real" for evaluate).
tg::io::Json data_options_json(const Args& a, const std::string& data_opt = "data");
/// --device, parsed and checked (a UsageError naming --device).
tg::Device parse_device(const Args& a);
/// --threads, applied (see tg::app::apply_threads).
void apply_threads(const Args& a, bool quiet);
/// An OptionError of the application layer as the command's UsageError
/// ("timegan <command>: --<option>: <detail>").
[[noreturn]] void usage_error(const Args& a, const OptionError& e);

}  // namespace tgcli
