/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/nss_stub.c: the static build wraps the NSS functions its
 * libraries reference (-Wl,--wrap=..., GNUmakefile) with these, which
 * always fail. Without the wrap glibc's NSS code would be linked in, and a
 * static binary would dlopen() NSS modules of whatever glibc is installed.
 * None is reached: libcap-ng's capng_change_id() calls getpwuid() and
 * initgroups() only for CAPNG_INIT_SUPP_GRP, a flag vigil never passes
 * (common/sandbox.c passes CAPNG_DROP_SUPP_GRP); libevent's evutil calls
 * the others only in evutil_getaddrinfo(), which vigil never calls.
 */
#include <sys/types.h>

#include <errno.h>
#include <netdb.h>
#include <pwd.h>
#include <stddef.h>

struct passwd *__wrap_getpwuid(uid_t);
int __wrap_initgroups(const char *, gid_t);
int __wrap_getaddrinfo(const char *, const char *, const struct addrinfo *,
    struct addrinfo **);
struct protoent *__wrap_getprotobynumber(int);
struct servent *__wrap_getservbyname(const char *, const char *);

struct passwd *
__wrap_getpwuid(uid_t uid)
{
	(void)uid;
	errno = ENOSYS;
	return NULL;
}

int
__wrap_initgroups(const char *user, gid_t gid)
{
	(void)user;
	(void)gid;
	errno = ENOSYS;
	return -1;
}

int
__wrap_getaddrinfo(const char *node, const char *service,
    const struct addrinfo *hints, struct addrinfo **res)
{
	(void)node;
	(void)service;
	(void)hints;
	*res = NULL;
	errno = ENOSYS;
	return EAI_SYSTEM; /* with errno */
}

struct protoent *
__wrap_getprotobynumber(int proto)
{
	(void)proto;
	errno = ENOSYS;
	return NULL;
}

struct servent *
__wrap_getservbyname(const char *name, const char *proto)
{
	(void)name;
	(void)proto;
	errno = ENOSYS;
	return NULL;
}
