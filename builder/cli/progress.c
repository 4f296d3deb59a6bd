/*
 * One progress line on a terminal for long transfers (downloads of .deb
 * files, uploads of layers): "temper: WHAT 12.3 of 45.6 MB, 8.1 MB/s, 4 s
 * left". Rewritten with a carriage return at most ten times a second; never
 * written when standard error is not a terminal, so logs stay clean. The one
 * place that writes control bytes on purpose (\r and erase-line), so it
 * writes them itself: what it shows besides is its caller's constant text and
 * numbers, never a name from outside.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
cli_progress_start(struct cli_progress *p, const char *what)
{
    *p = (struct cli_progress){what, now_ms(), 0, false};
    return isatty(STDERR_FILENO) != 0;
}

void
cli_progress_show(struct cli_progress *p, uint64_t done, uint64_t total)
{
    long now = now_ms(), elapsed;
    double rate;

    if (now - p->last_ms < 100 && done != total)
        return;
    p->last_ms = now;
    elapsed = now - p->start_ms > 0 ? now - p->start_ms : 1;
    rate = (double)done * 1000.0 / (double)elapsed;
    fprintf(stderr, "\r\033[Ktemper: %s %.1f of %.1f MB, %.1f MB/s", p->what, (double)done / 1e6,
            (double)total / 1e6, rate / 1e6);
    if (rate > 0 && total > done)
        fprintf(stderr, ", %.0f s left", (double)(total - done) / rate);
    p->shown = true;
}

void
cli_progress_end(struct cli_progress *p)
{
    if (p->shown)
        fputc('\n', stderr);
    p->shown = false;
}
