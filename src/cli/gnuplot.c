/* Running gnuplot for the reports (see gnuplot.h). */
#include "gnuplot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slingshot/error.h"

int sl_gnuplot_found(void) {
  const char *path = getenv("PATH");
  if (!path) return 0;
  char *copy = strdup(path), *save = NULL;
  if (!copy) return 0;
  int found = 0;
  for (char *p = strtok_r(copy, ":", &save); p && !found; p = strtok_r(NULL, ":", &save)) {
    char full[PATH_MAX];
    snprintf(full, sizeof full, "%s/gnuplot", p[0] ? p : ".");
    found = access(full, X_OK) == 0;
  }
  free(copy);
  return found;
}

int sl_gnuplot_run(const char *dir, const char *name) {
  char png[PATH_MAX];
  snprintf(png, sizeof png, "%s/%s.png", dir, name);
  remove(png); /* a stale PNG must not pass for this one */
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) return 127;
  if (pid == 0) { /* the child: only async-signal-safe calls, then exec or _exit */
    char script[256];
    snprintf(script, sizeof script, "%s.gp", name);
    if (chdir(dir) != 0) _exit(127);
    int fd = open("gnuplot.log", O_WRONLY | O_CREAT | O_APPEND, 0666);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execlp("gnuplot", "gnuplot", script, (char *)NULL);
    _exit(127);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) return 127;
  int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  if (rc == 0 && access(png, R_OK) != 0) rc = -1;
  return rc;
}
