/* artifact.h — the compiled model file (.kiln): writing and loading.
 *
 * Layout (all integers little-endian; every section 64-byte aligned):
 *   header    magic "KILNART\0", u32 format version, u32 section count, u64 file size,
 *             then per section { u32 kind, u32 zero, u64 offset, u64 size, u64 FNV-1a }
 *   META      text: "kiln <version>\nisa <isa it was compiled on>\n"
 *   MODULE    the dispatch-formed module as Kiln MLIR text, every constant written as
 *             dense_resource<cN> (N = its constant index) without data
 *   CONSTS    u64 count, then per constant { u64 index, u64 offset, u64 bytes }; the data
 *             (offsets from the file start, 64-byte aligned, so they are used in place
 *             from the memory map)
 *   PACKED    u64 count, then per packed weight { char ukernel[32], u64 offset, u64
 *             floats }: the weights in the microkernels' layouts, in kernel order, used
 *             in place when this CPU selects the same microkernel (else packed again
 *             from CONSTS at load)
 * Loading maps the file (or takes bytes already in memory), checks the header, bounds
 * and checksums of every section,
 * parses MODULE (no ONNX import, no optimization passes) and binds the constants;
 * lowering then takes the packed weights. A truncated or corrupt file is an INVALID
 * error naming the file and what is wrong. */
#ifndef KILN_ARTIFACT_H
#define KILN_ARTIFACT_H

#include "backend/cpu/backend.h"

#define KILN_ARTIFACT_VERSION 1

typedef struct Artifact {
  const uint8_t *map;      /* the whole file, read-only */
  size_t size;
  bool mapped;             /* map is this artifact's mmap (artifact_load); else borrowed */
  Module *module;          /* constants point into map */
  int n_packed;
  PackedWeight *packed;    /* malloc'd table; data points into map */
} Artifact;

/* Writes m (dispatch-formed, lowered to p) to path. */
KilnStatus artifact_write(const Module *m, const CpuProgram *p, const char *path, Diag *d);
KilnStatus artifact_load(const char *path, Artifact **out, Diag *d);
/* The same from size bytes at data (an embedded model, a fuzz input): name stands for the
 * file in messages. The artifact borrows the bytes (constants and packed weights point
 * into them): data must stay valid and unchanged until artifact_free, which does not free
 * it. Constants are used in place, so data must be 16-byte aligned (malloc's alignment;
 * an INVALID error otherwise); a file's map is 4096. */
KilnStatus artifact_load_memory(const uint8_t *data, size_t size, const char *name,
                                Artifact **out, Diag *d);
void artifact_free(Artifact *a);

#endif
