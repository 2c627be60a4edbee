/* commands.h: the sdflow subcommands. To add one: write cli/cmd_<name>.c with
 *     int sdf_cmd_<name>(int argc, char **argv);   (argv[0] is the command name)
 * and add ONE line to SDF_CLI_COMMANDS below; main.c builds its table and help from it.
 * Exit codes: 0 ok, 1 failure/invalid, 2 usage or I/O error, 3 some output dropped,
 * 130 interrupted.
 */
#ifndef SDF_CLI_COMMANDS_H
#define SDF_CLI_COMMANDS_H

/*        name        function          help line */
#define SDF_CLI_COMMANDS(X)                                                                     \
    X("run",      sdf_cmd_run,      "run workflows (API/UI JSON or PNG): validate, execute, log") \
    X("validate", sdf_cmd_validate, "check workflows without running them (exit 0/1/2)")         \
    X("nodes",    sdf_cmd_nodes,    "list node classes (--json: ComfyUI /object_info shape)")     \
    X("runs",     sdf_cmd_runs,     "the run log: list, show, diff, replay [--verify], export")   \
    X("convert",  sdf_cmd_convert,  "convert a UI-format workflow to the API format")             \
    X("bench",    sdf_cmd_bench,    "measure sgemm ceiling, UNet/VAE/CLIP speed and peak memory") \
    X("make-model", sdf_cmd_make_model, "write a random-weight checkpoint of a real architecture") \
    X("version",  sdf_cmd_version,  "print the version")

#define SDF_CLI_DECLARE_(name, fn, help) int fn(int argc, char **argv);
SDF_CLI_COMMANDS(SDF_CLI_DECLARE_)
#undef SDF_CLI_DECLARE_

#endif
