// SPDX-License-Identifier: GPL-2.0
/* Small host-side helpers: module parameters and other sysfs files. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "pvx_test.h"

int write_file(const char *path, const char *s)
{
	/* O_TRUNC: tracefs files such as "trace" are cleared by it. */
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

int read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	if (!len)
		return -EINVAL;
	buf[0] = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	buf[n] = 0;
	return 0;
}

uint64_t read_u64(const char *path)
{
	char buf[64];

	if (read_file(path, buf, sizeof(buf)))
		return 0;
	return strtoull(buf, NULL, 0);
}

bool kernel_older_than(unsigned int major, unsigned int minor)
{
	unsigned int maj = 0, min = 0;
	struct utsname u;

	TEST_ASSERT(!uname(&u), "uname");
	TEST_ASSERT(sscanf(u.release, "%u.%u", &maj, &min) == 2,
		    "kernel release %s", u.release);
	return maj < major || (maj == major && min < minor);
}
