/*
 * Logging to stderr. Each line is formatted into one buffer and written with a single write(2),
 * so lines from different threads never interleave.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "dx_log.h"
#include "dx_status.h"

static enum dx_log_level threshold = DX_LOG_INFO;

void dx_log_set_level(enum dx_log_level level)
{
    threshold = level;
}

int dx_log_parse_level(const char *name, enum dx_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (enum dx_log_level)i;
            return DX_OK;
        }
    }
    return DX_EINVAL;
}

int dx_log_enabled(enum dx_log_level level)
{
    return level >= threshold;
}

void dx_log(enum dx_log_level level, const char *fmt, ...)
{
    static const char tags[] = "DIWE";
    if (level < threshold)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %c [%ld] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, tags[level & 3], (long)syscall(SYS_gettid));
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w; /* nowhere left to report a failed log write */
}
