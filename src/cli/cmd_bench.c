/* slingshot bench NAME: the benchmarks that print figures (bench/README.md). */
#include <stdio.h>
#include <string.h>

#include "slingshot/bench.h"
#include "slingshot/bench_corpus.h"
#include "slingshot/cli.h"
#include "slingshot/error.h"

static const struct {
  const char *name, *what;
  int (*run)(int argc, char **argv, MPI_Comm comm);
} BENCHES[] = {
    {"train", "training throughput of the MLP and GPT against PyTorch and this machine's sgemm",
     sl_bench_train},
    {"corpus", "memory bandwidth, corpus generation, exact and HyperLogLog unique counting",
     sl_bench_corpus},
    {"hessian", "one Hessian-vector product over one gradient; the full spectrum at 1, 2, 4 ranks",
     sl_bench_hessian},
    {"grid", "scheduler makespan vs its lower bound, rank-group scaling, 64-4096-rank simulation",
     sl_bench_grid},
    {"gemm", "slingshot's own sgemm vs cblas_sgemm at the MLP step's products", sl_bench_gemm},

};
#define N_BENCHES (sizeof BENCHES / sizeof BENCHES[0])

static void bench_usage(FILE *f) {
  fprintf(f, "usage: slingshot bench NAME [options]   (slingshot bench NAME --help for each)\n\n"
             "Benchmarks that print figures, each against a baseline measured in the same run.\n"
             "Run with OPENBLAS_NUM_THREADS=1.\n\n");
  for (size_t i = 0; i < N_BENCHES; i++)
    fprintf(f, "  %-8s %s\n", BENCHES[i].name, BENCHES[i].what);
}

int sl_cmd_bench(int argc, char **argv, MPI_Comm comm) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    if (rank == 0) bench_usage(argc < 2 ? stderr : stdout);
    SL_CHECK(argc >= 2, SL_ERR_ARG,
             "bench needs a benchmark name: train, corpus, hessian, grid or gemm");

    return SL_OK;
  }
  for (size_t i = 0; i < N_BENCHES; i++)
    if (!strcmp(argv[1], BENCHES[i].name)) {
      SL_CALL(BENCHES[i].run(argc - 1, argv + 1, comm));
      return SL_OK;
    }
  return SL_ERROR(SL_ERR_ARG,
                  "unknown benchmark '%s' (benchmarks: train, corpus, hessian, grid, gemm)",
                  argv[1]);
}
