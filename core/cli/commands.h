/* core/cli/commands.h - one function per lpz command; each returns the
 * process exit status (0, 1, 2 for usage errors, 130 when interrupted). */
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

/* Lines of `lpz train`'s summary shared by the local run and the master
 * (cmd_train.c). The final scoring's line (none when it was not asked
 * for); resume: the command that continues the run, for a stopped
 * scoring. */
struct lpz_final_outcome;
void lpz_cli_print_final(const struct lpz_final_outcome *f, const char *resume, const char *run_dir);
/* The best cell's line: its final FID (final DONE), else its score of its
 * last iteration, else its generator fitness. */
/* "best cell: ..." with the final FID, else the training's score (FID, or
 * inception score when score_higher), else the generator fitness. */
void lpz_cli_print_best(int cell, double score, double g_fitness, int score_higher, int score_es,
                        const struct lpz_final_outcome *f);

#endif
