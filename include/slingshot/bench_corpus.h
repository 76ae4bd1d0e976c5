/* `slingshot bench corpus`: memory bandwidth, corpus generation throughput (skills, HMM, PCFG),
 * exact distinct 8-gram counting (tokens/s and bytes per distinct key) and HyperLogLog
 * throughput, per core. argv[0] is the subcommand name ("corpus"); options: --tokens N (default
 * 1e8), --help. Collective over comm: every rank runs the same single-threaded measurements at
 * once (so under mpirun -np <cores> the figures include contention for memory), rank 0 prints the
 * minimum and mean over ranks. */
#ifndef SLINGSHOT_BENCH_CORPUS_H
#define SLINGSHOT_BENCH_CORPUS_H

#include <mpi.h>

int sl_bench_corpus(int argc, char **argv, MPI_Comm comm);

#endif
