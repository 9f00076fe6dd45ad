/* file.c — whole-file reads with clear errors. */
#include <errno.h>
#include <string.h>

#include "support.h"

KilnStatus file_read_all(const char *path, uint8_t **data, size_t *size, Diag *d) {
  *data = NULL;
  *size = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return diag_error(d, KILN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  while (buf) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (n < cap) break;
    uint8_t *nb = realloc(buf, cap * 2);
    if (!nb) { free(buf); buf = NULL; break; }
    buf = nb;
    cap *= 2;
  }
  int err = ferror(f);
  fclose(f);
  if (!buf) return diag_error(d, KILN_ERR_NOMEM, "%s: out of memory reading file", path);
  if (err) {
    free(buf);
    return diag_error(d, KILN_ERR_IO, "%s: read error", path);
  }
  *data = buf;
  *size = n;
  return KILN_OK;
}
