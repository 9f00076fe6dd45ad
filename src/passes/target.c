/* target.c — target descriptions for pad-to-intrinsic: a small built-in table and the
 * "custom:" syntax for giving one on the command line.
 *
 * A target is the tile of its matrix intrinsic (for convs: OW x OC x IC) and the number of
 * cores OH is split over. The x86 entries pad only the channel dims, to one vector of
 * floats (AVX2: 8, AVX-512: 16); npu-4x4x8-c4 is an NPU-like 4x4x8 intrinsic on 4 cores. */
#include <stdlib.h>
#include <string.h>

#include "passes.h"

static const Target builtins[] = {
  {"x86-avx2", 1, 8, 8, 1},
  {"x86-avx512", 1, 16, 16, 1},
  {"npu-4x4x8-c4", 4, 4, 8, 4},
};

const Target *target_builtin(int i) {
  return i >= 0 && i < (int)ARRAY_LEN(builtins) ? &builtins[i] : NULL;
}

static KilnStatus unknown_target(const char *spec, Diag *d) {
  char list[256] = "";
  size_t k = 0;
  for (int i = 0; target_builtin(i); i++)
    k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", target_builtin(i)->name);
  return diag_error(d, KILN_ERR_INVALID,
                    "--target: unknown target '%s' (built-in: %s; or custom:ow=N,oc=N,ic=N,cores=N)",
                    spec, list);
}

/* One "key=value" of a custom target into t. */
static KilnStatus parse_key(const char *kv, Target *t, Diag *d) {
  static const char *const keys[] = {"ow", "oc", "ic", "cores"};
  int64_t *fields[] = {&t->ow, &t->oc, &t->ic, &t->cores};
  const char *eq = strchr(kv, '=');
  size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
  for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
    if (strlen(keys[i]) != klen || strncmp(kv, keys[i], klen)) continue;
    char *end;
    long long v = eq ? strtoll(eq + 1, &end, 10) : 0;
    if (!eq || !eq[1] || *end || v < 1 || v > 1024)
      return diag_error(d, KILN_ERR_INVALID,
                        "--target: '%s' needs a positive integer value up to 1024 (e.g. %s=4)", kv,
                        keys[i]);
    *fields[i] = v;
    return KILN_OK;
  }
  return diag_error(d, KILN_ERR_INVALID, "--target: unknown key '%.*s' in a custom target "
                    "(keys: ow, oc, ic, cores)", (int)klen, kv);
}

static KilnStatus parse_custom(const char *spec, Target *t, Diag *d) {
  *t = (Target){.ow = 1, .oc = 1, .ic = 1, .cores = 1};
  snprintf(t->name, sizeof t->name, "%s", spec);
  char buf[256];
  if (strlen(spec) >= sizeof buf) return diag_error(d, KILN_ERR_INVALID, "--target: too long");
  snprintf(buf, sizeof buf, "%s", spec + strlen("custom:"));
  if (!buf[0]) return diag_error(d, KILN_ERR_INVALID, "--target: custom: needs at least one key=value");
  for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    KilnStatus st = parse_key(tok, t, d);
    if (st) return st;
  }
  return KILN_OK;
}

KilnStatus target_parse(const char *spec, Target *t, Diag *d) {
  if (!strncmp(spec, "custom:", 7)) return parse_custom(spec, t, d);
  for (int i = 0; target_builtin(i); i++)
    if (!strcmp(spec, target_builtin(i)->name)) {
      *t = *target_builtin(i);
      return KILN_OK;
    }
  return unknown_target(spec, d);
}
