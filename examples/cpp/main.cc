// Loads a .qmodel, feeds zeros of the declared shapes (dynamic dims = 1), prints the outputs'
// shapes and first values. Only <qrt/qrt.h> is needed.
#include <cstdio>
#include <vector>

#include <qrt/qrt.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: qrt_example model.qmodel\n");
    return 2;
  }
  auto model = qrt::Model::load(argv[1]);
  if (!model.ok()) {
    std::fprintf(stderr, "load failed: %s\n", model.status().to_string().c_str());
    return 1;
  }
  auto session = qrt::Session::create(model.value());
  if (!session.ok()) {
    std::fprintf(stderr, "session failed: %s\n", session.status().to_string().c_str());
    return 1;
  }
  std::vector<std::vector<unsigned char>> buffers;
  std::vector<std::pair<std::string, qrt::TensorView>> inputs;
  for (const qrt::TensorInfo& t : model.value()->inputs()) {
    qrt::TensorView v;
    v.dtype = t.dtype;
    size_t n = qrt::element_size(t.dtype);
    for (int64_t d : t.shape) {
      v.shape.push_back(d < 0 ? 1 : d);
      n *= static_cast<size_t>(v.shape.back());
    }
    buffers.emplace_back(n, 0);
    v.data = buffers.back().data();
    inputs.emplace_back(t.name, v);
  }
  auto outputs = session.value()->run(inputs);
  if (!outputs.ok()) {
    std::fprintf(stderr, "run failed: %s\n", outputs.status().to_string().c_str());
    return 1;
  }
  for (size_t i = 0; i < outputs.value().size(); ++i) {
    const qrt::Tensor& o = outputs.value()[i];
    std::printf("%s: %s, %zu bytes", model.value()->outputs()[i].name.c_str(),
                qrt::element_type_name(o.dtype), o.nbytes);
    if (o.dtype == qrt::ElementType::kF32 && o.nbytes >= 4) std::printf(", first value %g", o.data<float>()[0]);
    std::printf("\n");
  }
  return 0;
}
