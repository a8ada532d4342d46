// model/bind_roles.h — internal: which roles a config needs, in one place for every loader.
#pragma once

#include <functional>
#include <vector>

#include "base/status.h"
#include "model/arch_table.h"
#include "model/config.h"
#include "model/weights.h"

namespace nuri::model {

struct RoleBinder {
  // Binds a matrix (or 3-D expert stack) of nuri shape `shape`; optional roles may be absent.
  std::function<Status(Role, int layer, std::vector<uint64_t> shape, kernels::WeightView*, bool optional)> view;
  // Binds a vector of n floats (norms, biases), dequantised to f32.
  std::function<Status(Role, int layer, int64_t n, std::vector<float>*, bool optional)> vec;
};

// Fills `w` for config `c` (n_vocab already known). Sets c.tied_embeddings when there is no
// output matrix and `output_optional`.
Status bind_roles(ModelConfig& c, ModelWeights& w, const RoleBinder& b, bool output_optional);

}  // namespace nuri::model
