/*
 * Helpers shared by the unit tests: a fresh temporary directory per test (as
 * libarchive's harness gives each test), and small file builders.
 */
#ifndef TEMPER_TESTUTIL_H
#define TEMPER_TESTUTIL_H

#include <check.h>
#include <stddef.h>

/* The current test's directory, created by testutil_setup, removed by testutil_teardown. */
extern char testutil_dir[];

void testutil_setup(void);
void testutil_teardown(void);

/* Path of `rel` inside the test directory (a static buffer, valid until the next call). */
const char *testutil_path(const char *rel);
/* Creates parent directories as needed, then the file with the given bytes. */
void testutil_write(const char *rel, const void *data, size_t len);
void testutil_mkdir(const char *rel);
void testutil_symlink(const char *target, const char *rel);
/* Copies a host file into the test directory at rel. */
void testutil_copy(const char *host_path, const char *rel);
/* Reads a whole host file; the caller frees *out. */
void testutil_read(const char *host_path, char **out, size_t *len);

/* Runs a suite and returns the process exit status: 0 when every test passed. */
int testutil_run(Suite *suite);

#endif
