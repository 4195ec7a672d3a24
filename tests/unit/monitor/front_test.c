/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/monitor/front_test.c: the sandboxed children's identity
 * (architecture.md "Sandbox" step 3): build-time names resolved by the
 * reaper, unknown names and uid/gid 0 refused with a message.
 */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <criterion/criterion.h>

#include "monitor/mon.h"

#include "identity.h" /* generated: build/gen/identity.h */

/* The build's own names (make CHILD_USER= CHILD_GROUP=, default nobody,
 * nogroup) give what the system database says, and neither is 0. */
Test(mon_identity, build_names_resolve)
{
	struct passwd *pw = getpwnam(VIGIL_CHILD_USER);
	struct group *gr = getgrnam(VIGIL_CHILD_GROUP);
	char msg[256] = "";
	uid_t uid = 0;
	gid_t gid = 0;

	if (pw == NULL || gr == NULL)
		cr_skip_test("%s/%s not on this system", VIGIL_CHILD_USER,
		    VIGIL_CHILD_GROUP);
	cr_assert_eq(mon_identity_resolve(VIGIL_CHILD_USER, VIGIL_CHILD_GROUP,
			 &uid, &gid, msg, sizeof(msg)),
	    0, "%s", msg);
	cr_expect_eq(uid, pw->pw_uid);
	cr_expect_eq(gid, gr->gr_gid);
	cr_expect_neq(uid, 0);
	cr_expect_neq(gid, 0);
}

/* Another existing account, as `make CHILD_USER=daemon` would name it. */
Test(mon_identity, other_names_resolve)
{
	struct passwd *pw = getpwnam("daemon");
	struct group *gr = getgrnam("daemon");
	char msg[256] = "";
	uid_t uid = 0;
	gid_t gid = 0;

	if (pw == NULL || gr == NULL)
		cr_skip_test("no daemon user or group here");
	cr_assert_eq(mon_identity_resolve(
			 "daemon", "daemon", &uid, &gid, msg, sizeof(msg)),
	    0, "%s", msg);
	cr_expect_eq(uid, pw->pw_uid);
	cr_expect_eq(gid, gr->gr_gid);
}

Test(mon_identity, unknown_user_named)
{
	char msg[256] = "";
	uid_t uid = 0;
	gid_t gid = 0;

	cr_assert_eq(mon_identity_resolve("vigil-no-such-user", "nogroup", &uid,
			 &gid, msg, sizeof(msg)),
	    -1);
	cr_expect_str_eq(msg,
	    "Failed to find the sandbox user "
	    "vigil-no-such-user (build setting CHILD_USER): no such user");
}

Test(mon_identity, unknown_group_named)
{
	char msg[256] = "";
	uid_t uid = 0;
	gid_t gid = 0;

	if (getpwnam("nobody") == NULL)
		cr_skip_test("no nobody user here");
	cr_assert_eq(mon_identity_resolve("nobody", "vigil-no-such-group", &uid,
			 &gid, msg, sizeof(msg)),
	    -1);
	cr_expect_str_eq(msg,
	    "Failed to find the sandbox group "
	    "vigil-no-such-group (build setting CHILD_GROUP): no such group");
}

/* root as the children's identity would undo the sandbox's point. */
Test(mon_identity, root_refused)
{
	char msg[256] = "";
	uid_t uid = 0;
	gid_t gid = 0;

	cr_assert_eq(mon_identity_resolve(
			 "root", "nogroup", &uid, &gid, msg, sizeof(msg)),
	    -1);
	cr_expect_str_eq(msg, "The sandbox user root (build setting "
			      "CHILD_USER) is uid 0: refused");
	if (getpwnam("nobody") == NULL)
		cr_skip_test("no nobody user here");
	cr_assert_eq(mon_identity_resolve(
			 "nobody", "root", &uid, &gid, msg, sizeof(msg)),
	    -1);
	cr_expect_str_eq(msg, "The sandbox group root (build setting "
			      "CHILD_GROUP) is gid 0: refused");
}
