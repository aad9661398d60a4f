#pragma once

namespace tgcli {
int cmd_train(int argc, char** argv);
int cmd_generate(int argc, char** argv);
int cmd_evaluate(int argc, char** argv);
}  // namespace tgcli
