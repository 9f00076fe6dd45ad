/* cpu.c — run-time ISA detection: CPUID for what the CPU has, XGETBV for what the OS
 * saves on a context switch (a VM may report AVX-512 in CPUID without enabling the ZMM
 * state; using it then faults). KILN_ISA caps the choice. Also the L1d and L2 sizes (CPUID
 * cache parameters), which cap the drivers' cache budgets (kiln_cache_budget). */
#include "backend/cpu/ukernel/ukernel.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((uint64_t)edx << 32) | eax;
}

static uint32_t detect_flags(void) {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
    return 0;
  const int osxsave = (ecx >> 27) & 1, avx = (ecx >> 28) & 1, fma = (ecx >> 12) & 1;
  if (!osxsave || !avx)
    return 0;
  const uint64_t xcr0 = xgetbv0();
  if ((xcr0 & 0x6) != 0x6) /* XMM and YMM state */
    return 0;
  unsigned max_leaf = __get_cpuid_max(0, NULL);
  if (max_leaf < 7)
    return 0;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  uint32_t flags = 0;
  if ((ebx >> 5) & 1)
    flags |= KILN_CPU_AVX2;
  if (fma)
    flags |= KILN_CPU_FMA;
  if ((xcr0 & 0xe0) == 0xe0) { /* opmask, ZMM0-15 upper halves, ZMM16-31 */
    if ((ebx >> 16) & 1)
      flags |= KILN_CPU_AVX512F;
    if ((ebx >> 17) & 1)
      flags |= KILN_CPU_AVX512DQ;
    if ((ebx >> 30) & 1)
      flags |= KILN_CPU_AVX512BW;
    if ((ebx >> 31) & 1)
      flags |= KILN_CPU_AVX512VL;
    if ((ecx >> 11) & 1)
      flags |= KILN_CPU_AVX512VNNI;
  }
  return flags;
}
/* The data/unified cache of `level` from the deterministic cache parameters leaf (Intel
 * leaf 4, AMD 0x8000001D: same layout), in bytes; 0 when the CPU does not say. */
static size_t cache_bytes(unsigned leaf, unsigned level) {
  for (unsigned i = 0; i < 16; i++) {
    unsigned eax, ebx, ecx, edx;
    __cpuid_count(leaf, i, eax, ebx, ecx, edx);
    const unsigned type = eax & 0x1f; /* 0: no more caches, 1: data, 2: instruction, 3: unified */
    if (type == 0)
      break;
    if ((type == 1 || type == 3) && ((eax >> 5) & 7) == level)
      return (size_t)((ebx >> 22) + 1) * (((ebx >> 12) & 0x3ff) + 1) * ((ebx & 0xfff) + 1) *
             ((size_t)ecx + 1);
  }
  return 0;
}

static void detect_caches(size_t *l1d, size_t *l2) {
  unsigned eax, ebx, ecx, edx;
  *l1d = *l2 = 0;
  if (__get_cpuid_max(0x80000000, NULL) >= 0x8000001d && __get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx) &&
      ((ecx >> 22) & 1)) /* AMD topology extensions: leaf 0x8000001D */
    *l1d = cache_bytes(0x8000001d, 1), *l2 = cache_bytes(0x8000001d, 2);
  if (!*l1d && __get_cpuid_max(0, NULL) >= 4)
    *l1d = cache_bytes(4, 1), *l2 = cache_bytes(4, 2);
}
#else
static uint32_t detect_flags(void) { return 0; }
static void detect_caches(size_t *l1d, size_t *l2) { *l1d = *l2 = 0; }
#endif

size_t kiln_cache_budget(size_t tuned, int level, size_t num, size_t den) {
  const struct kiln_cpu_features *f = kiln_cpu_features();
  const size_t have = level == 1 ? f->l1d_bytes : f->l2_bytes;
  return have && have / den * num < tuned ? have / den * num : tuned;
}

static enum kiln_isa isa_from_flags(uint32_t f) {
  const uint32_t avx2 = KILN_CPU_AVX2 | KILN_CPU_FMA;
  const uint32_t avx512 =
      avx2 | KILN_CPU_AVX512F | KILN_CPU_AVX512BW | KILN_CPU_AVX512DQ | KILN_CPU_AVX512VL;
  if ((f & avx512) == avx512)
    return KILN_ISA_AVX512;
  if ((f & avx2) == avx2)
    return KILN_ISA_AVX2;
  return KILN_ISA_PORTABLE;
}

static const char *const isa_names[] = {"portable", "avx2", "avx512"};
_Static_assert(sizeof isa_names / sizeof isa_names[0] == KILN_ISA_COUNT, "isa_names");

const char *kiln_isa_name(enum kiln_isa isa) {
  return (unsigned)isa < KILN_ISA_COUNT ? isa_names[isa] : "?";
}

static struct kiln_cpu_features features;
static atomic_int features_state; /* 0: not yet, 1: being detected, 2: ready */

const struct kiln_cpu_features *kiln_cpu_features(void) {
  if (atomic_load_explicit(&features_state, memory_order_acquire) == 2)
    return &features;
  int expected = 0;
  if (atomic_compare_exchange_strong(&features_state, &expected, 1)) {
    features.flags = detect_flags();
    features.hw_isa = isa_from_flags(features.flags);
    features.isa = features.hw_isa;
    detect_caches(&features.l1d_bytes, &features.l2_bytes);
    const char *cap = getenv("KILN_ISA");
    if (cap) {
      for (int i = 0; i < KILN_ISA_COUNT; i++)
        if (!strcmp(cap, isa_names[i]) && (enum kiln_isa)i < features.isa)
          features.isa = (enum kiln_isa)i;
    }
    atomic_store_explicit(&features_state, 2, memory_order_release);
  } else {
    while (atomic_load_explicit(&features_state, memory_order_acquire) != 2)
      ;
  }
  return &features;
}

int kiln_isa_is_usable(enum kiln_isa isa) { return isa <= kiln_cpu_features()->isa; }
