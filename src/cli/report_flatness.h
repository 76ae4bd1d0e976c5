/* Private to src/cli: the flatness part of `slingshot analyze` (SCIENCE.md section 4, issue 7),
 * called from cmd_analyze.c on rank 0. Not collective.
 *
 * Among done cells whose training loss lies within --tolerance nats of each other (the window
 * of that width holding the most cells), the Hutchinson trace of the Hessian is set against
 * downstream ability: Spearman's rank correlation with a bootstrap 95% interval over cells.
 * Files without /flatness are analysed without it (a note says so). */
#ifndef SLINGSHOT_CLI_REPORT_FLATNESS_H
#define SLINGSHOT_CLI_REPORT_FLATNESS_H

#include "slingshot/analysis.h"
#include "slingshot/cli.h"

/* Reads /flatness and the columns it is compared with from o->file; the result hangs on
 * o->flatness (freed by sl_flatness_free). */
int sl_flatness_analyze(sl_analyze_out *o);
/* /analysis/flatness (inside the analysis writer's session). */
int sl_flatness_write(sl_analysis_writer *w, const sl_analyze_out *o);
/* flatness.csv, the flatness figure (gnuplot script, data, PNG), a section appended to
 * report.md, and a summary on stdout. */
int sl_flatness_report(sl_analyze_out *o);
void sl_flatness_free(sl_analyze_out *o);

#endif
