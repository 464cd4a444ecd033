/*
 * C status codes shared by every module.
 *
 * A function that can fail returns one of these (0 on success, a negative code otherwise) and
 * puts its results in out-parameters. They say whether the function worked; a DynamoDB error
 * that must reach the client (ValidationException, ...) is data carried in struct dx_error,
 * and DX_EREQ is the single status that says "the request was rejected, see the dx_error".
 */
#ifndef DX_STATUS_H
#define DX_STATUS_H

/* X(name, value, message) */
#define DX_STATUS_MAP(X)                                                                           \
    X(OK, 0, "success")                                                                            \
    X(EREQ, -1, "request rejected (details in the dx_error)")                                      \
    X(EINVAL, -2, "invalid argument")                                                              \
    X(ENOTFOUND, -3, "not found")                                                                  \
    X(EEXIST, -4, "already exists")                                                                \
    X(EIO, -5, "input/output error")                                                               \
    X(ESTORE, -6, "storage engine error")                                                          \
    X(EFULL, -7, "limit reached")                                                                  \
    X(ECLOSED, -8, "shut down")                                                                    \
    X(ESYS, -9, "system call failed (see errno)")                                                  \
    X(PENDING, -10, "completion will be reported later")

enum dx_status {
#define DX_STATUS_ENUM(name, value, msg) DX_##name = (value),
    DX_STATUS_MAP(DX_STATUS_ENUM)
#undef DX_STATUS_ENUM
};

/* Printable text for a status; static storage, never NULL. */
const char *dx_strstatus(int status);

#endif
