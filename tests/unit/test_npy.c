/* test_npy.c — .npy round trips for every dtype, and every malformed-header error. */
#include <unistd.h>

#include "check.h"
#include "support/support.h"

static const char *tmp_path(const char *name) {
  static char buf[256];
  snprintf(buf, sizeof buf, "/tmp/kiln_test_npy_%d_%s", (int)getpid(), name);
  return buf;
}

static void test_round_trip(const char *descr, size_t itemsize) {
  int64_t dims[3] = {2, 3, 5};
  unsigned char data[2 * 3 * 5 * 8];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 7 + 1);
  Diag d = {0};
  const char *p = tmp_path("rt.npy");
  CHECK(npy_write(p, descr, 3, dims, data, 30 * itemsize, &d) == KILN_OK);
  NpyArray a;
  CHECK(npy_read(p, &a, &d) == KILN_OK);
  CHECK(strcmp(a.descr, descr) == 0);
  CHECK_EQ_I(3, a.rank);
  CHECK_EQ_I(5, a.dims[2]);
  CHECK_EQ_I(30 * itemsize, a.nbytes);
  CHECK(a.data && memcmp(a.data, data, a.nbytes) == 0);
  npy_free(&a);
  unlink(p);
}

/* A hand-made v1 file: header dict padded with spaces to end at a 64-byte boundary. */
static size_t make_npy(unsigned char *buf, const char *dict, size_t payload) {
  size_t hl = strlen(dict);
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)hl;
  buf[9] = 0;
  memcpy(buf + 10, dict, hl);
  memset(buf + 10 + hl, 0, payload);
  return 10 + hl + payload;
}

static void expect_error(const char *dict, size_t payload, const char *msg) {
  unsigned char buf[1024];
  size_t n = make_npy(buf, dict, payload);
  NpyArray a;
  Diag d = {0};
  CHECK(npy_parse(buf, n, "x.npy", &a, &d) != KILN_OK);
  CHECK_STR_CONTAINS(d.msg, msg);
  CHECK_STR_CONTAINS(d.msg, "x.npy");
  CHECK(a.data == NULL);
}

static void test_errors(void) {
  expect_error("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, "Fortran");
  expect_error("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8, "big-endian");
  expect_error("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16, "unsupported .npy dtype");
  expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 15, "payload has 15 bytes");
  expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", 0, "overflows");
  expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", 4, "rank exceeds");
  expect_error("{'fortran_order': False, 'shape': (2,), }", 8, "no 'descr'");
  expect_error("{'descr': '<f4', 'shape': (2,), }", 8, "no 'fortran_order'");
  expect_error("{'descr': '<f4', 'fortran_order': False, 'shape': 2, }", 8, "no 'shape'");
  /* Truncated header and bad magic. */
  Diag d = {0};
  NpyArray a;
  unsigned char bad[16] = "\x93NUMPY\x01\x00\xff\x00";
  CHECK(npy_parse(bad, 12, "t.npy", &a, &d) == KILN_ERR_INVALID);
  CHECK_STR_CONTAINS(d.msg, "truncated");
  Diag d2 = {0};
  CHECK(npy_parse((const uint8_t *)"hello world!", 12, "t.npy", &a, &d2) == KILN_ERR_INVALID);
  CHECK_STR_CONTAINS(d2.msg, "bad magic");
  Diag d3 = {0};
  CHECK(npy_read("/nonexistent/dir/x.npy", &a, &d3) == KILN_ERR_IO);
  CHECK_STR_CONTAINS(d3.msg, "cannot open");
}

static void test_scalar_and_bool(void) {
  unsigned char buf[256];
  size_t n = make_npy(buf, "{'descr': '|b1', 'fortran_order': False, 'shape': (), }", 1);
  NpyArray a;
  Diag d = {0};
  CHECK(npy_parse(buf, n, "s.npy", &a, &d) == KILN_OK);
  CHECK_EQ_I(0, a.rank);
  CHECK_EQ_I(1, a.nbytes);
  npy_free(&a);
}

int main(void) {
  test_round_trip("<f4", 4);
  test_round_trip("<f2", 2);
  test_round_trip("|i1", 1);
  test_round_trip("|u1", 1);
  test_round_trip("<i4", 4);
  test_round_trip("<i8", 8);
  test_round_trip("|b1", 1);
  test_errors();
  test_scalar_and_bool();
  return check_report("test_npy");
}
