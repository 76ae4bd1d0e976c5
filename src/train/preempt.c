/* Preemption flag and its signal handlers. See include/slingshot/preempt.h. */
#include "slingshot/preempt.h"

#include <signal.h>
#include <string.h>

#include "slingshot/error.h"

static volatile sig_atomic_t g_stop = 0;
static struct sigaction g_old_term, g_old_usr1;
static int g_installed = 0;

/* Async-signal-safe: one store to a sig_atomic_t, nothing else. */
static void on_signal(int sig) {
  g_stop = sig;
}

int sl_preempt_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  SL_CHECK(sigaction(SIGTERM, &sa, &g_old_term) == 0 && sigaction(SIGUSR1, &sa, &g_old_usr1) == 0,
           SL_ERR_INTERNAL, "cannot install the SIGTERM/SIGUSR1 handlers");
  g_installed = 1;
  return SL_OK;
}

void sl_preempt_uninstall(void) {
  if (!g_installed) return;
  sigaction(SIGTERM, &g_old_term, NULL);
  sigaction(SIGUSR1, &g_old_usr1, NULL);
  g_installed = 0;
}

int sl_preempt_requested(void) {
  return (int)g_stop;
}

void sl_preempt_raise(void) {
  if (!g_stop) g_stop = -1;
}

void sl_preempt_clear(void) {
  g_stop = 0;
}
