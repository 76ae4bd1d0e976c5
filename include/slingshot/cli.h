/* Subcommands. Each is called by main after MPI_Init on every rank (collective over comm) and
 * returns a status; main prints the error and sets the exit code. argv[0] is the subcommand. */
#ifndef SLINGSHOT_CLI_H
#define SLINGSHOT_CLI_H

#include <mpi.h>

int sl_cmd_run(int argc, char **argv, MPI_Comm comm);
int sl_cmd_status(int argc, char **argv, MPI_Comm comm);
int sl_cmd_fit(int argc, char **argv, MPI_Comm comm);

#endif
