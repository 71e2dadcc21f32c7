/* core/cli/commands.h - one function per lpz command; each returns the
 * process exit status (0, 1, or 2 for usage errors). */
#ifndef LPZ_CLI_COMMANDS_H
#define LPZ_CLI_COMMANDS_H

#include "cli/cli.h"

int lpz_cmd_train(const lpz_cli_args *args);
/* lpz train --distributed --master/--client (cmd_distributed.c). */
int lpz_cmd_train_distributed(const lpz_cli_args *args);
int lpz_cmd_generate(const lpz_cli_args *args);
int lpz_cmd_score(const lpz_cli_args *args);
int lpz_cmd_plugins(const lpz_cli_args *args);
int lpz_cmd_config(const lpz_cli_args *args);
int lpz_cmd_classifier(const lpz_cli_args *args);
int lpz_cmd_report(const lpz_cli_args *args);

#endif
