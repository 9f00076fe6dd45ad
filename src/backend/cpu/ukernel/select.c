/* select.c — the kernel registry (kernels.def expanded) and the dispatcher. */
#include "backend/cpu/ukernel/ukernel.h"

#include <stddef.h>

/* The isa column of kernels.def: an ISA level, plus features some variants need. */
#define ISA_PORTABLE KILN_ISA_PORTABLE
#define ISA_AVX2 KILN_ISA_AVX2
#define ISA_AVX512 KILN_ISA_AVX512
#define ISA_AVX512VNNI KILN_ISA_AVX512
#define FEATURES_PORTABLE 0u
#define FEATURES_AVX2 0u
#define FEATURES_AVX512 0u
#define FEATURES_AVX512VNNI KILN_CPU_AVX512VNNI

#define UKERNEL(name_, op_, isa_, mr_, nr_, fn_)                                          \
  [KILN_UKERNEL_##name_] = {.name = #name_,                                               \
                            .op = KILN_UKERNEL_OP_##op_,                                  \
                            .isa = ISA_##isa_,                                            \
                            .features = FEATURES_##isa_,                                  \
                            .mr = mr_,                                                    \
                            .nr = nr_,                                                    \
                            .fn = {.op_ = fn_}},
const struct kiln_ukernel kiln_ukernels[KILN_UKERNEL_COUNT] = {
#include "backend/cpu/ukernel/kernels.def"
};
#undef UKERNEL

int kiln_ukernel_is_usable(const struct kiln_ukernel *k) {
  return kiln_isa_is_usable(k->isa) && (kiln_cpu_features()->flags & k->features) == k->features;
}

const struct kiln_ukernel *kiln_ukernel_select_isa(enum kiln_ukernel_op op,
                                                   enum kiln_isa max_isa) {
  const struct kiln_ukernel *best = NULL;
  for (int i = 0; i < KILN_UKERNEL_COUNT; i++) {
    const struct kiln_ukernel *k = &kiln_ukernels[i];
    if (k->op == op && k->isa <= max_isa && kiln_ukernel_is_usable(k) &&
        (!best || k->isa >= best->isa))
      best = k;
  }
  return best;
}

const struct kiln_ukernel *kiln_ukernel_select(enum kiln_ukernel_op op) {
  return kiln_ukernel_select_isa(op, KILN_ISA_COUNT);
}
