/* Benchmarks that print figures (not timed tests): `slingshot bench ...`. See bench/README.md.
 *
 * Each is called like a subcommand (cli.h): after MPI_Init, on every rank of comm (collective),
 * with argv[0] the benchmark's name; only rank 0 measures and prints, the others wait and return
 * the same status. A benchmark whose figures miss their targets still returns SL_OK: the figures
 * are its result. */
#ifndef SLINGSHOT_BENCH_H
#define SLINGSHOT_BENCH_H

#include <mpi.h>

/* slingshot bench train [--steps S] [--warmup W] [--rounds R] [--model NAME]... [--torch PYTHON]
 *                       [--script PATH] [--no-torch]
 * Single-thread sgemm rate of this machine, then training steps per second (forward, backward,
 * AdamW) of the three models of issue 3, and the same models in PyTorch (one thread) when PYTHON
 * can import torch; R rounds of that back to back, summarised by medians. */
int sl_bench_train(int argc, char **argv, MPI_Comm comm);

/* slingshot bench hessian [--reps R] [--n N] [--no-spectrum]
 * One Hessian-vector product over one gradient (MLP exact and fd, GPT fd), and the full Hessian
 * spectrum (assembly, pdsyevr and pdsyevd) on the first 1, 2 and 4 ranks of comm
 * (src/cli/bench_hessian.c).
 */
int sl_bench_hessian(int argc, char **argv, MPI_Comm comm);
/* slingshot bench grid [--cells N] [--seconds S] [--steps S] [--no-groups] [--simulate FILE]
 * [--replicate K]: the scheduler's makespan against max(work / ranks, largest cell) at 1, 2 and 4
 * ranks, the strong and weak scaling of a rank group's step, and a simulation of the scheduling
 * policy on 64 to 4096 ranks (src/cli/bench_grid.c). */
int sl_bench_grid(int argc, char **argv, MPI_Comm comm);
/* slingshot bench gemm [--reps R]: slingshot's own sgemm against cblas_sgemm at the products of
 * one step of bench train's mlp model, alternating call by call (src/cli/bench_gemm.c). */
int sl_bench_gemm(int argc, char **argv, MPI_Comm comm);

#endif
