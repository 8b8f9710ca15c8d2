#include "ops/fusion.h"

namespace qrt::rt {

size_t fuse_pairs(format::ModelDef& def, std::vector<std::unique_ptr<Op>>& ops,
                  const std::function<std::unique_ptr<Op>(size_t i, size_t j, int32_t t)>& make) {
  const size_t nn = def.nodes.size(), nt = def.tensors.size();
  // Per tensor: node inputs that read it (a graph output counts 2 more: it must exist whole) and
  // the node that writes it.
  std::vector<int32_t> uses(nt, 0), producer(nt, -1);
  for (size_t i = 0; i < nn; ++i) {
    for (int32_t t : def.nodes[i].inputs)
      if (t >= 0) ++uses[t];
    for (int32_t t : def.nodes[i].outputs)
      if (t >= 0) producer[t] = static_cast<int32_t>(i);
  }
  for (int32_t t : def.outputs) uses[t] += 2;
  std::vector<char> removed(nn, 0);
  size_t fused = 0;
  for (size_t j = 0; j < nn; ++j) {
    if (!ops[j] || def.nodes[j].inputs.empty()) continue;
    const int32_t t = def.nodes[j].inputs[0];
    if (t < 0 || uses[t] != 1 || producer[t] < 0) continue;
    const size_t i = static_cast<size_t>(producer[t]);
    if (!ops[i] || def.nodes[i].outputs.size() != 1) continue;
    std::unique_ptr<Op> op = make(i, j, t);
    if (!op) continue;
    ops[j] = std::move(op);
    format::NodeDef& nb = def.nodes[j];
    const format::NodeDef& na = def.nodes[i];
    nb.name = na.name + " + " + nb.name;
    nb.inputs = na.inputs;
    removed[i] = 1;
    ++fused;
  }
  if (!fused) return 0;
  size_t k = 0;
  for (size_t i = 0; i < nn; ++i) {
    if (removed[i]) continue;
    if (k != i) {
      def.nodes[k] = std::move(def.nodes[i]);
      ops[k] = std::move(ops[i]);
    }
    ++k;
  }
  def.nodes.resize(k);
  ops.resize(k);
  return fused;
}

size_t fuse_ops(format::ModelDef& def, std::vector<std::unique_ptr<Op>>& ops) {
  const size_t a = fuse_expand_depthwise(def, ops);
  const size_t b = fuse_depthwise_project(def, ops);  // after the expansions: whole blocks
  return a + b + fuse_transpose_quantize(def, ops);
}

}  // namespace qrt::rt
