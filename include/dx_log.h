/*
 * Logging to stderr with a level threshold. One line per call, prefixed with the time, level
 * and thread. Thread-safe (each line is one write).
 */
#ifndef DX_LOG_H
#define DX_LOG_H

enum dx_log_level { DX_LOG_DEBUG = 0, DX_LOG_INFO, DX_LOG_WARN, DX_LOG_ERROR };

void dx_log_set_level(enum dx_log_level level);
/* "debug", "info", "warn", "error" -> level; DX_OK or DX_EINVAL. */
int dx_log_parse_level(const char *name, enum dx_log_level *out);
int dx_log_enabled(enum dx_log_level level);
void dx_log(enum dx_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define dx_debug(...)     dx_log(DX_LOG_DEBUG, __VA_ARGS__)
#define dx_info(...)      dx_log(DX_LOG_INFO, __VA_ARGS__)
#define dx_warn(...)      dx_log(DX_LOG_WARN, __VA_ARGS__)
#define dx_error_log(...) dx_log(DX_LOG_ERROR, __VA_ARGS__)

#endif
