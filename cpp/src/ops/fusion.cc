#include "ops/fusion.h"

namespace qrt::rt {

TensorUses tensor_uses(const format::ModelDef& def) {
  TensorUses u;
  u.uses.assign(def.tensors.size(), 0);
  u.producer.assign(def.tensors.size(), -1);
  for (size_t i = 0; i < def.nodes.size(); ++i) {
    for (int32_t t : def.nodes[i].inputs)
      if (t >= 0) ++u.uses[t];
    for (int32_t t : def.nodes[i].outputs)
      if (t >= 0) u.producer[t] = static_cast<int32_t>(i);
  }
  for (int32_t t : def.outputs) u.uses[t] += 2;
  return u;
}

void remove_nodes(format::ModelDef& def, std::vector<std::unique_ptr<Op>>& ops,
                  const std::vector<char>& removed) {
  size_t k = 0;
  for (size_t i = 0; i < def.nodes.size(); ++i) {
    if (removed[i]) continue;
    if (k != i) {
      def.nodes[k] = std::move(def.nodes[i]);
      ops[k] = std::move(ops[i]);
    }
    ++k;
  }
  def.nodes.resize(k);
  ops.resize(k);
}

size_t fuse_ops(format::ModelDef& def, std::vector<std::unique_ptr<Op>>& ops) {
  const size_t a = fuse_expand_depthwise(def, ops);
  const size_t b = fuse_depthwise_project(def, ops);  // after the expansions: whole blocks
  return a + b + fuse_transpose_quantize(def, ops);
}

}  // namespace qrt::rt
