/* onnx_limits.c — the importer's input limits, checked before any node is imported.
 *
 * onnx_check_nesting() walks the protobuf wire format with protobuf-c's descriptors
 * before unpacking: protobuf-c unpacks nested messages recursively, and ONNX nests
 * without bound (TypeProto.Sequence.elem_type, subgraphs in attributes), so a few KB of
 * hostile bytes could otherwise exhaust the stack. The walk itself recurses at most
 * KILN_ONNX_MAX_NESTING levels and is linear in the input; malformed bytes are left to
 * protobuf-c to reject. onnx_check_graph() bounds the counts (nodes, initializers,
 * inputs/outputs) and every string the importer may print: at most KILN_ONNX_MAX_NAME
 * bytes and no control characters, so each error stays one line. Limits: docs/limits.md. */
#include "onnx_internal.h"

/* Reads a varint at *p (< end); false when malformed or truncated. */
static bool pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    uint8_t b = *(*p)++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

/* Returns the depth reached (capped just past the limit); malformed input stops the walk. */
static int pb_depth(const uint8_t *p, const uint8_t *end, const ProtobufCMessageDescriptor *desc,
                    int depth) {
  int deepest = depth;
  if (depth > KILN_ONNX_MAX_NESTING) return depth;
  while (p < end) {
    uint64_t key, len;
    if (!pb_varint(&p, end, &key)) return deepest;
    switch (key & 7) {
    case 0: if (!pb_varint(&p, end, &len)) return deepest; break;
    case 1: if (end - p < 8) return deepest; p += 8; break;
    case 5: if (end - p < 4) return deepest; p += 4; break;
    case 2: {
      if (!pb_varint(&p, end, &len) || len > (uint64_t)(end - p)) return deepest;
      const ProtobufCFieldDescriptor *f =
          key >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(key >> 3)) : NULL;
      if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
        int d = pb_depth(p, p + len, f->descriptor, depth + 1);
        if (d > deepest) deepest = d;
        if (deepest > KILN_ONNX_MAX_NESTING) return deepest;
      }
      p += len;
      break;
    }
    default: return deepest; /* groups and bad wire types: protobuf-c rejects them */
    }
  }
  return deepest;
}

KilnStatus onnx_check_nesting(const uint8_t *data, size_t size, Diag *d) {
  if (pb_depth(data, data + size, &onnx__model_proto__descriptor, 0) > KILN_ONNX_MAX_NESTING)
    return diag_error(d, KILN_ERR_LIMIT, "not a supported ONNX model: protobuf messages nested deeper "
                      "than %d levels", KILN_ONNX_MAX_NESTING);
  return KILN_OK;
}

/* ---- counts and strings ------------------------------------------------------------- */

static KilnStatus check_str(Diag *d, const char *s, const char *what, size_t index) {
  if (!s) return KILN_OK;
  size_t n = 0;
  for (; s[n]; n++) {
    unsigned char c = (unsigned char)s[n];
    if (c < 0x20 || c == 0x7f)
      return diag_error(d, KILN_ERR_INVALID, "%s #%zu: name contains control character 0x%02x at byte %zu",
                        what, index, c, n);
    if (n >= KILN_ONNX_MAX_NAME)
      return diag_error(d, KILN_ERR_LIMIT, "%s #%zu: name longer than %d bytes", what, index,
                        KILN_ONNX_MAX_NAME);
  }
  return KILN_OK;
}

static KilnStatus check_tensor(Diag *d, const Onnx__TensorProto *t, const char *what, size_t index) {
  if (!t) return KILN_OK;
  KilnStatus st = check_str(d, t->name, what, index);
  for (size_t k = 0; !st && k < t->n_external_data; k++) {
    st = check_str(d, t->external_data[k]->key, "external data key of tensor", index);
    if (!st) st = check_str(d, t->external_data[k]->value, "external data value of tensor", index);
  }
  return st;
}

static KilnStatus check_node(Diag *d, const Onnx__NodeProto *n, size_t i) {
  KilnStatus st;
  if ((st = check_str(d, n->name, "node", i)) || (st = check_str(d, n->op_type, "node op_type", i)) ||
      (st = check_str(d, n->domain, "node domain", i)))
    return st;
  for (size_t k = 0; k < n->n_input; k++)
    if ((st = check_str(d, n->input[k], "node input", i))) return st;
  for (size_t k = 0; k < n->n_output; k++)
    if ((st = check_str(d, n->output[k], "node output", i))) return st;
  for (size_t k = 0; k < n->n_attribute; k++) {
    const Onnx__AttributeProto *a = n->attribute[k];
    if ((st = check_str(d, a->name, "node attribute", i)) || (st = check_tensor(d, a->t, "node tensor", i)))
      return st;
    for (size_t j = 0; j < a->n_tensors; j++)
      if ((st = check_tensor(d, a->tensors[j], "node tensor", i))) return st;
  }
  return KILN_OK;
}

KilnStatus onnx_check_graph(const Onnx__GraphProto *g, Diag *d) {
  if (g->n_node > KILN_ONNX_MAX_NODES)
    return diag_error(d, KILN_ERR_LIMIT, "graph has %zu nodes, the limit is %d", g->n_node, KILN_ONNX_MAX_NODES);
  if (g->n_initializer > KILN_ONNX_MAX_NODES || g->n_input > KILN_ONNX_MAX_NODES ||
      g->n_output > KILN_ONNX_MAX_NODES)
    return diag_error(d, KILN_ERR_LIMIT, "graph has more than %d initializers, inputs or outputs",
                      KILN_ONNX_MAX_NODES);
  KilnStatus st = check_str(d, g->name, "graph", 0);
  for (size_t i = 0; !st && i < g->n_input; i++) st = check_str(d, g->input[i]->name, "graph input", i);
  for (size_t i = 0; !st && i < g->n_output; i++) st = check_str(d, g->output[i]->name, "graph output", i);
  for (size_t i = 0; !st && i < g->n_initializer; i++)
    st = check_tensor(d, g->initializer[i], "initializer", i);
  for (size_t i = 0; !st && i < g->n_node; i++) st = check_node(d, g->node[i], i);
  return st;
}
