/* slingshot run: expand the grid, schedule cells over ranks, train, write the results file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "slingshot/cli.h"
#include "slingshot/config.h"
#include "slingshot/error.h"
#include "slingshot/grid.h"
#include "slingshot/language.h"
#include "slingshot/log.h"
#include "slingshot/preempt.h"
#include "slingshot/results.h"
#include "slingshot/timer.h"
#include "slingshot/train.h"
#include "run_plan.h"
#include "run_slice.h"
#include "slingshot/parts.h"
#include "run_preempt.h"
#include "options.h"
#include "run_groups.h"

static void run_usage(FILE *f) {
  fprintf(f,
          "usage: slingshot run [CONFIG] [options]\n\n"
          "Trains every cell of the grid (model sizes N x corpus sizes D x seeds x variants) and\n"
          "writes one parallel HDF5 results file. Run it under MPI: mpirun -np 2 slingshot run\n\n"
          "CONFIG is a libconfig file, or the name of a built-in experiment (");
  for (const sl_embedded_experiment *e = sl_embedded_experiments; e->name; e++)
    fprintf(f, "%s%s", e == sl_embedded_experiments ? "" : ", ", e->name);
  fprintf(f,
          ").\nWithout CONFIG the built-in 'default' experiment runs.\n\n"
          "options:\n"
          "  -o, --output FILE     results file (default: NAME.h5, NAME the experiment's name)\n"
          "  --resume              continue FILE: finished cells are kept and skipped; refused\n"
          "                        if FILE was made with another config. Starts FILE if absent.\n"
          "  --force               overwrite an existing FILE\n"
          "  --dry-run             print the expanded grid with each cell's FLOPs, memory and a\n"
          "                        measured time estimate, and the expected wall time on the\n"
          "                        ranks given; train nothing\n"
          "  --print-config        print the resolved config (every key) and exit\n"
          "  --config-reference    print every config key with its range and default, and exit\n"
          "  --checkpoint-every S  save a running cell every S steps into FILE.ckpt/ (default\n"
          "                        500; 0: only on a signal), so --resume continues it instead\n"
          "                        of starting it again\n"
          "  --array-task I        run slice I (from 0) of K slices of the grid, balanced by\n"
          "  --array-count K       cost, into its own part file (default NAME.part-I-of-K.h5);\n"
          "                        merge the parts with slingshot merge. Without these options\n"
          "                        the job array's SLURM_ARRAY_TASK_ID/_MIN/_COUNT (or PBS's\n"
          "                        PBS_ARRAY_INDEX, with --array-count) are used when set\n"
          "  --cells A-B           run only cells A to B (inclusive) into a part file\n"

          "  --progress SECONDS    progress line interval when not on a terminal (default 10)\n"
          "  --log-level LEVEL     error, warn, info (default) or debug\n"
          "  -h, --help            this help\n\n"
          "On SIGTERM or SIGUSR1 (SLURM's --signal; mpirun forwards SIGUSR1 to every rank) each\n"
          "rank saves its running cell at the next step, the file is closed, and the run exits\n"
          "with code %d: rerun the same command with --resume to continue.\n",
          SL_EXIT_INTERRUPTED);
}

typedef struct run_args {
  const char *config, *output;
  int resume, force, print_config, reference, help, dry_run;
  double progress;
  long long checkpoint_every;
  long long array_task, array_count; /* -1, 0: not given (slice.h) */
  const char *cells;
} run_args;

static int parse_args(int argc, char **argv, run_args *a) {
  memset(a, 0, sizeof *a);
  a->progress = 10.0;
  a->checkpoint_every = 500;
  a->array_task = -1;
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    int has_next = i + 1 < argc;
    if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
      a->help = 1;
    } else if (!strcmp(s, "-o") || !strcmp(s, "--output")) {
      SL_CHECK(has_next, SL_ERR_ARG, "%s needs a file name", s);
      a->output = argv[++i];
    } else if (!strcmp(s, "--resume")) {
      a->resume = 1;
    } else if (!strcmp(s, "--force")) {
      a->force = 1;
    } else if (!strcmp(s, "--dry-run")) {
      a->dry_run = 1;
    } else if (!strcmp(s, "--print-config")) {
      a->print_config = 1;
    } else if (!strcmp(s, "--config-reference")) {
      a->reference = 1;
    } else if (!strcmp(s, "--progress")) {
      SL_CHECK(has_next, SL_ERR_ARG, "--progress needs a number of seconds");
      char *end;
      a->progress = strtod(argv[++i], &end);
      SL_CHECK(*end == '\0' && a->progress > 0, SL_ERR_ARG,
               "--progress %s: give a positive number of seconds", argv[i]);
    } else if (!strcmp(s, "--checkpoint-every")) {
      SL_CHECK(has_next, SL_ERR_ARG, "--checkpoint-every needs a number of steps");
      char *end;
      a->checkpoint_every = strtoll(argv[++i], &end, 10);
      SL_CHECK(*end == '\0' && a->checkpoint_every >= 0, SL_ERR_ARG,
               "--checkpoint-every %s: give a number of steps >= 0 (0: no checkpoints)", argv[i]);
    } else if (!strcmp(s, "--array-task") || !strcmp(s, "--array-count")) {
      SL_CHECK(has_next, SL_ERR_ARG, "%s needs a number", s);
      char *end;
      long long v = strtoll(argv[++i], &end, 10);
      int task = !strcmp(s, "--array-task");
      SL_CHECK(*end == '\0' && argv[i][0] && v >= (task ? 0 : 1), SL_ERR_ARG, "%s %s: give %s", s,
               argv[i], task ? "a slice index >= 0" : "a slice count >= 1");
      *(task ? &a->array_task : &a->array_count) = v;
    } else if (!strcmp(s, "--cells")) {
      SL_CHECK(has_next, SL_ERR_ARG, "--cells needs a range A-B of cell indices");
      a->cells = argv[++i];
    } else if (!strcmp(s, "--log-level")) {
      SL_CALL(sl_opt_log_level("run", has_next ? argv[++i] : NULL));
    } else if (s[0] == '-') {
      return SL_ERROR(SL_ERR_ARG, "unknown option '%s' for run (see slingshot run --help)", s);
    } else {
      SL_CHECK(!a->config, SL_ERR_ARG, "two configs given ('%s' and '%s'): give one", a->config, s);
      a->config = s;
    }
  }
  SL_CHECK(!(a->resume && a->force), SL_ERR_ARG,
           "--resume and --force contradict each other: --resume keeps the file, --force "
           "overwrites it");
  return SL_OK;
}

/* Rank 0 finds the config text (file, or built-in name) and broadcasts it. */
static int load_config(const char *name, MPI_Comm comm, sl_config *cfg) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  char *text = NULL;
  char origin[256];
  int err = SL_OK;
  if (!name) name = "default";
  snprintf(origin, sizeof origin, "%s", name);
  if (rank == 0) {
    if (access(name, F_OK) == 0) {
      err = sl_config_read_file(name, &text);
    } else if (sl_config_embedded(name)) {
      text = strdup(sl_config_embedded(name));
      snprintf(origin, sizeof origin, "built-in:%s", name);
      if (!text) err = SL_ERROR(SL_ERR_NOMEM, "out of memory");
    } else {
      char names[256] = "";
      for (const sl_embedded_experiment *e = sl_embedded_experiments; e->name; e++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", names[0] ? ", " : "",
                 e->name);
      err = SL_ERROR(SL_ERR_IO, "config '%s' not found: give a config file or a built-in name (%s)",
                     name, names);
    }
  }
  long long len = err == SL_OK && rank == 0 ? (long long)strlen(text) : -1;
  SL_CALL_MPI(MPI_Bcast(&len, 1, MPI_LONG_LONG, 0, comm));
  SL_CALL_MPI(MPI_Bcast(origin, sizeof origin, MPI_CHAR, 0, comm));
  if (len < 0) {
    free(text);
    return err != SL_OK ? err : SL_ERROR(SL_ERR_CONFIG, "rank 0 could not read the config");
  }
  if (rank != 0) {
    text = malloc((size_t)len + 1);
    SL_CHECK(text, SL_ERR_NOMEM, "out of memory");
  }
  SL_CALL_MPI(MPI_Bcast(text, (int)len + 1, MPI_CHAR, 0, comm));
  err = sl_config_parse(text, origin, cfg);
  free(text);
  return err;
}

/* ------------------------------------------------------------------ progress */

typedef struct progress {
  sl_sched *sched;
  int rank, tty;
  double t0, last_print, interval;
  int64_t n_total;
  double total_cost, cell_fpt;
} progress;

static void progress_print(progress *p, int force) {
  if (p->rank != 0) return;
  double now = sl_wtime();
  double every = p->tty ? 0.5 : p->interval;
  if (!force && now - p->last_print < every) return;
  p->last_print = now;
  int64_t done, tokens;
  double flops;
  if (sl_sched_progress(p->sched, &done, &flops, &tokens) != SL_OK) return;
  double el = now - p->t0, frac = p->total_cost > 0 ? flops / p->total_cost : 0;
  if (frac > 1) frac = 1;
  char e[32], eta[32];
  sl_fmt_duration(el, e, sizeof e);
  sl_fmt_duration(frac > 0.005 ? el * (1 - frac) / frac : NAN, eta, sizeof eta);
  fprintf(stderr, "%s[%lld/%lld cells] %3.0f%% of FLOPs | elapsed %s | ETA %s | %.3g tokens/s%s",
          p->tty ? "\r\033[K" : "", (long long)done, (long long)p->n_total, 100 * frac, e, eta,
          el > 0 ? (double)tokens / el : 0.0, p->tty ? "" : "\n");
  fflush(stderr);
}

static void train_hook(void *ctx, int64_t tokens) {
  progress *p = ctx;
  sl_sched_report(p->sched, 0, (double)tokens * p->cell_fpt, tokens);
  int stopped; /* another rank got SIGTERM/SIGUSR1: the training loop stops at its next step */
  if (sl_sched_poll_stop(p->sched, &stopped) != SL_OK) sl_error_clear();
  progress_print(p, 0);
}

/* ------------------------------------------------------------------ checkpoints */

/* Rank 0 makes FILE.ckpt/; a new results file starts with it emptied, since checkpoints of a
 * file made before would not match (they are refused, not used, but they would fail cells). */
static int checkpoint_dir(const char *dir, int fresh) {
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    return SL_ERROR(SL_ERR_IO, "cannot create the checkpoint folder %s: %s", dir, strerror(errno));
  if (!fresh) return SL_OK;
  DIR *d = opendir(dir);
  SL_CHECK(d, SL_ERR_IO, "cannot read the checkpoint folder %s: %s", dir, strerror(errno));
  struct dirent *e;
  char path[1100];
  while ((e = readdir(d)) != NULL)
    if (strncmp(e->d_name, "cell_", 5) == 0) {
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      unlink(path);
    }
  closedir(d);
  return SL_OK;
}

/* ------------------------------------------------------------------ the run */

int sl_cmd_run(int argc, char **argv, MPI_Comm comm) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  run_args a;
  SL_CALL(parse_args(argc, argv, &a));
  if (a.help) {
    if (rank == 0) run_usage(stdout);
    return SL_OK;
  }
  if (a.reference) {
    if (rank == 0) sl_config_print_reference(stdout);
    return SL_OK;
  }
  sl_config cfg;
  SL_CALL(load_config(a.config, comm, &cfg));
  char *text = NULL;
  SL_CALL(sl_config_to_text(&cfg, &text));
  if (a.print_config) {
    if (rank == 0) fputs(text, stdout);
    free(text);
    return SL_OK;
  }

  int err = SL_OK;
  sl_skills_lang *lang = NULL;
  sl_language *other = NULL; /* language.kind hmm or pcfg (then lang stays NULL) */
  sl_grid grid = {0};
  sl_results *res = NULL;
  sl_sched *sched = NULL, *sched_g = NULL;
  uint8_t *large = NULL;
  int8_t *status = NULL;
  uint8_t *todo = NULL;
  sl_cell_result cr = {0};
  sl_run_slice slice = {0};
  int write_failed = 0; /* a rank could not write the results file */

  char output[512];
  snprintf(output, sizeof output, "%s", a.output ? a.output : "");
  if (!a.output) snprintf(output, sizeof output, "%s.h5", cfg.name);

  if (sl_language_kind_of(&cfg) != SL_LANGUAGE_SKILLS)
    SL_CALL_GOTO(sl_language_create(&cfg, cfg.grid.seeds[0], &other), done);
  else
    SL_CALL_GOTO(sl_train_language(&cfg, cfg.grid.seeds[0], &lang), done);
  SL_CALL_GOTO(sl_grid_expand(&cfg, lang ? lang->V : other->V, &grid), done);
  /* A job-array task runs its slice of the grid into its own part file (slice.h). */
  SL_CALL_GOTO(sl_run_slice_setup(&grid, a.array_task, a.array_count, a.cells, comm, &slice), done);
  if (slice.active && !a.output) sl_run_slice_output(&slice, cfg.name, output, sizeof output);
  if (lang && cfg.model.context < 2 * cfg.language.k_max + 1)
    sl_log(SL_LOG_WARN,
           "model.context = %d < 2*k_max+1 = %d: a window may not reach the start of its piece, "
           "so the entropy rate is below the best loss this model can reach",
           cfg.model.context, 2 * cfg.language.k_max + 1);
  if (a.dry_run) {
    if (rank == 0)
      err = slice.active ? sl_run_slice_dry_run(&cfg, &grid, &slice, size, stdout)
                         : sl_run_dry_run(&cfg, &grid, size, stdout);
    int worst = err;
    MPI_Allreduce(&err, &worst, 1, MPI_INT, MPI_MAX, comm);
    if (worst != SL_OK && err == SL_OK) err = SL_ERROR(worst, "rank 0 failed (see its message)");
    goto done;
  }
  /* Before anything is written: every problem with memory and disk at once. */
  SL_CALL_GOTO(sl_run_check_resources(&cfg, &grid, output, comm), done);

  SL_ALLOC(status, grid.n_cells);
  SL_ALLOC(todo, grid.n_cells);
  sl_run_info info = {&cfg, text, &grid, lang, size, slice.active ? &slice.part : NULL, other};
  int exists = 0;
  if (rank == 0) exists = access(output, F_OK) == 0;
  MPI_Bcast(&exists, 1, MPI_INT, 0, comm);
  if (a.resume && exists) {
    SL_CALL_GOTO(sl_part_check_resume(output, info.part, grid.n_cells, comm), done);
    SL_CALL_GOTO(sl_results_resume(output, &info, comm, &res, status), done);
  } else {
    SL_CALL_GOTO(sl_results_create(output, &info, a.force, comm, &res), done);
  }
  int64_t n_done = 0;
  for (int64_t i = 0; i < grid.n_cells; i++) {
    todo[i] = status[i] != SL_CELL_DONE && status[i] != SL_CELL_DIVERGED;
    if (slice.active && !slice.owned[i]) todo[i] = 0, n_done--; /* another part's cell */
    n_done += !todo[i];
  }
  sl_log(SL_LOG_INFO, "slingshot run: %s (%s), %lld cells (%lld already finished), %d rank%s -> %s",
         cfg.name, cfg.origin, (long long)grid.n_cells, (long long)n_done, size,
         size > 1 ? "s" : "", output);
  if (slice.active) {
    char what[512];
    sl_run_slice_describe(&slice, what, sizeof what);
    sl_log(SL_LOG_INFO, "%s", what);
  }
  if (lang)
    sl_log(SL_LOG_INFO, "language: V = %d, entropy %.4f bits/token (%s)", lang->V,
           lang->entropy_bits_per_token, lang->entropy_exact ? "exact" : "Monte Carlo estimate");
  else
    sl_log(SL_LOG_INFO,
           "language: %s, V = %d, entropy %.4f +- %.4f bits/token (95%%; estimated for seed %lld, "
           "each seed's cells use their own estimate)",
           cfg.language.kind, other->V, other->entropy_bits, 1.96 * other->entropy_stderr_bits,
           (long long)cfg.grid.seeds[0]);

  char ckdir[600];
  snprintf(ckdir, sizeof ckdir, "%s.ckpt", output);
  sl_train_ckpt ck = {.path = NULL, .every = a.checkpoint_every};
  sl_sha256_hex(text, strlen(text), ck.config_sha256);
  { /* always: a signal saves running cells even with --checkpoint-every 0 */
    err = rank == 0 ? checkpoint_dir(ckdir, !(a.resume && exists)) : SL_OK;
    int worst_ck = err;
    MPI_Allreduce(&err, &worst_ck, 1, MPI_INT, MPI_MAX, comm);
    if (worst_ck != SL_OK && err == SL_OK)
      err = SL_ERROR(worst_ck, "rank 0 failed (see its message)");
    if (err != SL_OK) goto done;
  }
  double large_cost = 0; /* the large cells go to rank groups (run_groups.h) */
  int64_t n_large = sl_run_groups_split(&cfg, &grid, todo, &large, &large_cost);
  SL_CALL_GOTO(sl_sched_create(&grid, todo, comm, &sched), done);
  progress prog = {
      .sched = sched, .rank = rank, .tty = isatty(2), .t0 = sl_wtime(), .interval = a.progress};
  prog.n_total = sl_sched_total(sched, &prog.total_cost) + n_large;
  prog.total_cost += large_cost;
  SL_CALL_GOTO(sl_cell_result_alloc(&cr, cfg.eval.points, cfg.unique.prefixes, cfg.unique.n_ngrams),
               done);

  int local_err = SL_OK;
  long long n_interrupted = 0;
  SL_CALL_GOTO(sl_preempt_install(), done);
  if (n_large > 0) {
    sl_run_groups_ctx gctx = {&cfg, &grid, res, &ck, ckdir, train_hook, &prog, sched, &cr};
    SL_CALL_GOTO(sl_run_groups(&gctx, large, comm, &sched_g, &n_interrupted, &local_err), done);
  }
  while (local_err == SL_OK) {
    int64_t ci;
    SL_CALL_GOTO(sl_sched_next(sched, &ci), done);
    if (ci < 0) break;
    const sl_cell *cell = &grid.cells[ci];
    prog.cell_fpt = cell->flops_per_token;
    char ckpath[700];
    snprintf(ckpath, sizeof ckpath, "%s/cell_%lld.ckpt", ckdir, (long long)ci);
    ck.path = ckpath;
    int e = sl_train_cell_ckpt(&cfg, cell, &ck, train_hook, &prog, &cr);
    if (e == SL_ERR_INTERRUPTED) { /* preempted: the checkpoint holds the cell, no row */
      sl_log_all(SL_LOG_INFO, "%s", sl_error_message());
      sl_error_clear();
      n_interrupted++;
      break;
    }
    if (e != SL_OK) { /* the cell failed: record it, keep the grid going */
      sl_log_all(SL_LOG_WARN, "cell %lld failed: %s", (long long)ci, sl_error_message());
      sl_error_clear();
    }
    sl_timer_start("write");
    local_err = sl_results_write_cell(res, cell, &cr, rank);
    sl_timer_stop("write");
    if (local_err != SL_OK) break; /* an I/O error: stop taking cells, report below */
    if (ck.path) unlink(ck.path);  /* the row is in the file: the checkpoint has served */
    sl_sched_report(sched, 1, 0.0, 0);
    sl_log_all(SL_LOG_INFO, "cell %lld N=%zu D=%lld: %s val_loss %.4f excess %.4f nats (%.1f s)",
               (long long)ci, cell->n_params, (long long)cell->d_tokens,
               cr.status == SL_CELL_DONE       ? "done"
               : cr.status == SL_CELL_DIVERGED ? "DIVERGED"
                                               : "FAILED",
               cr.val_loss, cr.excess_loss, cr.wall_s);
    progress_print(&prog, 1);
  }
  if (prog.tty && rank == 0) fputc('\n', stderr);
  /* Every rank reaches here; agree on I/O errors and on a stop before the collective close. A
   * rank that waits here while others train still passes on a signal it gets (preempt.h). */
  long long mine[3] = {local_err, sl_preempt_requested() != 0, n_interrupted}, all[3];
  SL_CALL_GOTO(sl_run_wait_agree(sched, mine, all, comm), done);
  int worst = (int)all[0];
  err = local_err;
  if (err != SL_OK) { /* say what is safe and how to go on */
    char what[1024];
    snprintf(what, sizeof what, "%s", sl_error_message());
    err = SL_ERROR(SL_ERR_IO,
                   "%s. The cells finished before the error are safe in %s: free space (or fix "
                   "the file system), then run the same command with --resume to finish the grid",
                   what, output);
  }
  if (worst != SL_OK && err == SL_OK)
    err = SL_ERROR(SL_ERR_IO, "another rank could not write its results (see its message)");
  write_failed = worst != SL_OK;
  if (err == SL_OK && all[1]) {
    int64_t n_done_now = 0;
    long long n_saved = 0;
    sl_sched_progress(sched, &n_done_now, &(double){0}, &(int64_t){0});
    MPI_Allreduce(&n_interrupted, &n_saved, 1, MPI_LONG_LONG, MPI_SUM, comm);
    err = SL_ERROR(SL_ERR_INTERRUPTED,
                   "stopped by a signal: %lld cells finished in this run, %lld running cells saved "
                   "in %s/; %s is consistent. Rerun the same command with --resume to continue",
                   (long long)n_done_now, n_saved, ckdir, output);
  }

done:
  /* Collectives below: every rank must get here, which holds because every failure above is
   * either identical on all ranks (config, grid, file checks agree) or was agreed on. */
  if (sched) sl_sched_destroy(sched);
  if (sched_g) sl_sched_destroy(sched_g);
  if (res && write_failed) {
    sl_results_abandon(res); /* closing would fail too, and crash HDF5 (see results.h) */
  } else if (res) {

    int e = sl_results_close(res);
    if (err == SL_OK) err = e;
  }
  if (err == SL_OK && !a.dry_run) {
    MPI_Barrier(comm);
    sl_log(SL_LOG_INFO, "\ntime per phase across ranks:");
    if (sl_log_get_level() >= SL_LOG_INFO) sl_timers_report(comm, stderr);
    if (rank == 0) rmdir(ckdir); /* only if empty: all cells ended */
    sl_log(SL_LOG_INFO, "results: %s  (inspect: slingshot status %s; h5dump -H %s)", output, output,
           output);
  }
  sl_preempt_uninstall();
  sl_cell_result_free(&cr);
  sl_grid_free(&grid);
  sl_run_slice_free(&slice);
  sl_skills_destroy(lang);
  sl_language_destroy(other);
  free(status);
  free(todo);
  free(large);
  free(text);
  return err;
}
