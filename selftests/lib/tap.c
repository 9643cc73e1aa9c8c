// SPDX-License-Identifier: GPL-2.0
/*
 * TAP 13 output.  The plan is printed at the end, which TAP allows, so a
 * test can add checks as it learns what it can check; a test that dies
 * half way thus has no plan and counts as failed.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "pvx_test.h"

static int tap_count;
static int tap_fails;
static pthread_mutex_t tap_lock = PTHREAD_MUTEX_INITIALIZER;

/* A hung guest or module must not hang the whole testbed run. */
static void tap_watchdog(int sig)
{
	static const char msg[] = "Bail out! watchdog: test took too long\n";
	ssize_t r;

	(void)sig;
	r = write(STDOUT_FILENO, msg, sizeof(msg) - 1);
	(void)r;
	_exit(KSFT_FAIL);
}

void tap_init(const char *name)
{
	const char *t = getenv("PVX_TEST_TIMEOUT");

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	printf("# %s\n", name);
	signal(SIGALRM, tap_watchdog);
	alarm(t ? atoi(t) : 600);
}

static void tap_vline(bool ok, const char *directive, const char *fmt,
		      va_list ap)
{
	pthread_mutex_lock(&tap_lock);
	tap_count++;
	printf("%sok %d - ", ok ? "" : "not ", tap_count);
	vprintf(fmt, ap);
	if (directive)
		printf(" %s", directive);
	printf("\n");
	if (!ok)
		tap_fails++;
	pthread_mutex_unlock(&tap_lock);
}

bool tap_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vline(cond, NULL, fmt, ap);
	va_end(ap);
	return cond;
}

void tap_skip(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&tap_lock);
	tap_count++;
	printf("ok %d # SKIP ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	pthread_mutex_unlock(&tap_lock);
}

void tap_diag(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&tap_lock);
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	pthread_mutex_unlock(&tap_lock);
}

void tap_skip_all(const char *fmt, ...)
{
	va_list ap;

	printf("1..%d # SKIP ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(tap_fails ? KSFT_FAIL : KSFT_SKIP);
}

void tap_bail(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(KSFT_FAIL);
}

int tap_failed(void)
{
	return tap_fails;
}

void tap_finish(void)
{
	printf("1..%d\n", tap_count);
	printf("# %d checks, %d failed\n", tap_count, tap_fails);
	fflush(stdout);
	exit(tap_fails || !tap_count ? KSFT_FAIL : KSFT_PASS);
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}
