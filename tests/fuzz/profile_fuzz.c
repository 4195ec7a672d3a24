/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/profile_fuzz.c: profile_parse() on any text. It must never
 * crash; what it accepts must hold only valid rules, and an error must be
 * "line N: ..." with N within the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			abort();                                               \
	} while (0)

static struct profile prof;

static void
check_rules(void)
{
	CHECK(prof.n <= PROFILE_MAX_RULES);
	for (size_t i = 0; i < prof.n; i++) {
		const struct profile_rule *r = &prof.rules[i];

		CHECK(r->line >= 1);
		CHECK(memchr(r->name, '\0', sizeof(r->name)) != NULL);
		CHECK(r->ncond <= PROFILE_MAX_CONDS);
		for (unsigned j = 0; j < r->ncond; j++)
			CHECK(r->cond[j].arg <= 5);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[128];
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (profile_parse(text, &prof, err, sizeof(err)) == 0)
		check_rules();
	else
		CHECK(strncmp(err, "line ", 5) == 0);
	free(text);
	return 0;
}
