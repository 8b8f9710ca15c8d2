// Conv2d, NHWC: X [N,H,W,C], W [O,KH,KW,C/group], B [O] -> Y [N,OH,OW,O].
// 1×1 stride-1 unpadded convolutions are the GEMM itself (pixels × channels); others go through
// im2col with k ordered (kh, kw, c) to match the weight layout, padding with the input's zero
// point (u8) or 0.0 (f32), into the same GEMM. Groups run one GEMM per group on a slice of the
// weights.
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/checks.h"
#include "kernels/dwconv_f32.h"
#include "kernels/dwconv_u8s8.h"
#include "kernels/im2col_u8.h"
#include "kernels/winograd_f32.h"
#include "kernels/winograd_u8s8.h"
#include "format/weight_layout.h"
#include "ops/common.h"
#include "ops/dense_conv.h"
#include "ops/fusion.h"

namespace qrt::rt {
namespace {

class DwBlockOp;
class Conv2dOp;
bool plain_1x1_u8(const Conv2dOp* op);
bool fusable_dw(const Conv2dOp* op);

struct ConvGeom {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t pt = 0, pl = 0, pb = 0, pr = 0;
  int64_t group = 1, cin = 0, cout = 0;
};

// Per-thread scratch slots: at most `n` (the pool's threads, <= 64) tasks run at once, and each
// claims a free slot index for the duration of its work.
class SlotPool {
 public:
  explicit SlotPool(size_t n) : n_(n) {}
  size_t acquire() {
    size_t slot = 0;
    for (;;) {
      uint64_t cur = busy_.load();
      while (slot < n_ && (cur >> slot) & 1) ++slot;
      if (slot < n_ && busy_.compare_exchange_weak(cur, cur | (uint64_t(1) << slot))) return slot;
      slot = 0;
    }
  }
  void release(size_t slot) { busy_.fetch_and(~(uint64_t(1) << slot)); }

 private:
  std::atomic<uint64_t> busy_{0};
  size_t n_;
};

class Conv2dOp : public Op {
 public:
  static Result<std::unique_ptr<Op>> create(const CreateContext& c) {
    auto op = std::make_unique<Conv2dOp>();
    ConvGeom& g = op->g_;
    const format::TensorDef* x = c.input(0);
    const format::TensorDef* w = c.input(1);
    const format::TensorDef* b = c.input(2);
    if (c.node.inputs.size() < 2 || c.node.inputs.size() > 3 || c.node.outputs.size() != 1 || !x)
      return InvalidArgument(c.where() + "expects inputs (X, W[, B]) and one output");
    if (!w || !w->is_constant || w->shape.size() != 4)
      return InvalidArgument(c.where() + "weights must be a constant of shape [O, KH, KW, C/group]");
    for (int64_t d : w->shape)
      if (d <= 0) return InvalidArgument(c.where() + "weights have an empty dimension");
    QRT_ASSIGN_OR_RETURN(auto strides, c.attr_ints("strides", {1, 1}));
    QRT_ASSIGN_OR_RETURN(auto pads, c.attr_ints("pads", {0, 0, 0, 0}));
    QRT_ASSIGN_OR_RETURN(auto dil, c.attr_ints("dilations", {1, 1}));
    QRT_ASSIGN_OR_RETURN(g.group, c.attr_int("group", 1));
    if (strides.size() != 2 || pads.size() != 4 || dil.size() != 2)
      return InvalidArgument(c.where() + "strides/dilations need 2 values and pads 4 (top, left, bottom, right)");
    g.sh = strides[0]; g.sw = strides[1]; g.dh = dil[0]; g.dw = dil[1];
    g.pt = pads[0]; g.pl = pads[1]; g.pb = pads[2]; g.pr = pads[3];
    for (int64_t v : {g.sh, g.sw, g.dh, g.dw})
      if (v < 1 || v > 1024) return InvalidArgument(c.where() + "strides and dilations must be in [1, 1024]");
    for (int64_t v : pads)
      if (v < 0 || v > 1024) return InvalidArgument(c.where() + "pads must be in [0, 1024]");
    g.cout = w->shape[0];
    g.kh = w->shape[1];
    g.kw = w->shape[2];
    if (g.group < 1 || g.cout % g.group)
      return InvalidArgument(c.where() + "group " + std::to_string(g.group) +
                             " must divide the output channels " + std::to_string(g.cout));
    g.cin = w->shape[3] * g.group;
    const size_t og = static_cast<size_t>(g.cout / g.group);
    const size_t K = static_cast<size_t>(g.kh * g.kw * w->shape[3]);
    QRT_ASSIGN_OR_RETURN(int64_t wo, c.attr_int("weight_only", 0));
    // Weights packed in the file (format 1.1) reach the GEMM whole; the depthwise and grouped
    // paths slice or transpose them, so they get the plain bytes.
    format::TensorDef wplain;
    std::vector<uint8_t> unpacked;
    const bool depthwise = g.group == g.cin && g.cout == g.cin;
    if (w->layout != format::WeightLayout::kPlain && (g.group != 1 || depthwise)) {
      wplain = *w;
      format::make_plain(&wplain, &unpacked);
      w = &wplain;
    }
    if (g.group == g.cin && g.cout == g.cin && x->dtype == DType::kF32 &&
        (w->dtype == DType::kF32 || w->dtype == DType::kF16 || w->dtype == DType::kBF16)) {
      QRT_RETURN_IF_ERROR(op->init_depthwise_f32(c, w, b));
      return std::unique_ptr<Op>(std::move(op));
    }
    const format::TensorDef* yrec = c.output(0);
    if (g.group == g.cin && g.cout == g.cin && x->dtype == DType::kU8 && w->dtype == DType::kS8 &&
        yrec && yrec->dtype == DType::kU8) {
      QRT_RETURN_IF_ERROR(op->init_depthwise_u8(c, x, w, b, yrec));
      return std::unique_ptr<Op>(std::move(op));
    }
    // Row taps: a k x k convolution whose channels are not a multiple of 4 (an RGB stem) reads
    // whole kernel rows instead: a row's KW taps are KW * C contiguous input bytes (dilation 1),
    // rounded up to kt = a multiple of 4 by reading into the next pixel, whose weights are zero
    // (so those bytes add 0 and the column sums are unchanged). The GEMM then has KH taps of kt
    // bytes: K = KH * kt instead of KH * KW * C (7x7x3 stem: 168 for 147; 3x3x3: 36 for 27).
    const size_t row = static_cast<size_t>(g.kw * g.cin), rkt = (row + 3) / 4 * 4;
    const size_t rows = og * static_cast<size_t>(g.kh);
    const bool row_taps = g.group == 1 && g.kh * g.kw > 1 && g.cin % 4 != 0 && g.dw == 1 &&
                          x->dtype == DType::kU8 && w->dtype == DType::kS8 && wo == 0 &&
                          kernels::select_gemm_u8s8().run_taps &&
                          static_cast<size_t>(g.kh) <= kernels::kMaxGemmTaps &&
                          rows * rkt <= cpu::l2_resident_limit();
    const size_t esz = format::dtype_size(w->dtype);
    // A Winograd path packs its own weights: the GEMM's are not packed at all.
    const bool gemm_pack = !op->winograd_f32_fits(x, w, wo != 0) && !op->winograd_u8_fits(x, w, wo != 0);
    for (int64_t gi = 0; gi < g.group; ++gi) {
      // A view of this group's weights (and scales, bias) as a Dense of [og, K].
      format::TensorDef ws;
      ws.name = w->name;
      ws.dtype = w->dtype;
      ws.shape = {static_cast<int64_t>(og), static_cast<int64_t>(K)};
      ws.is_constant = true;
      ws.data = w->data + gi * og * K * esz;
      if (w->layout != format::WeightLayout::kPlain) {  // group == 1: the whole tensor
        ws.nbytes = w->nbytes;
        ws.layout = w->layout;
        ws.layout_nr = w->layout_nr;
      }
      // One group reads the tensor's own quantization (no copy: fewer heap pages at load).
      ws.quant.axis = w->quant.axis;
      if (g.group > 1 && w->quant.scales.size() == static_cast<size_t>(g.cout)) {
        ws.quant.scales.assign(w->quant.scales.begin() + gi * og, w->quant.scales.begin() + (gi + 1) * og);
        ws.quant.zero_points.assign(og, 0);
        for (size_t i = 0; i < og && !w->quant.zero_points.empty(); ++i)
          ws.quant.zero_points[i] = w->quant.zero_points[gi * og + i];
      } else if (g.group > 1) {
        ws.quant.scales = w->quant.scales;
        ws.quant.zero_points = w->quant.zero_points;
      }
      format::TensorDef bs;
      if (b) {
        if (!b->is_constant || shape_numel(b->shape) != static_cast<size_t>(g.cout))
          return InvalidArgument(c.where() + "bias must be a constant with " + std::to_string(g.cout) + " elements");
        bs.name = b->name;  // the fields LinearWeights reads (not the quantization vectors)
        bs.dtype = b->dtype;
        bs.is_constant = true;
        bs.shape = {static_cast<int64_t>(og)};
        bs.data = b->data + gi * og * format::dtype_size(b->dtype);
        bs.nbytes = og * format::dtype_size(b->dtype);
      }
      LinearWeights lw;
      if (row_taps) {
        format::TensorDef wp = *w;  // plain [O][KH][KW*C] bytes, copied to [O][KH][rkt]
        std::vector<uint8_t> plain_storage, padded(rows * rkt, 0);
        if (wp.layout != format::WeightLayout::kPlain) format::make_plain(&wp, &plain_storage);
        for (size_t r = 0; r < rows; ++r) std::memcpy(&padded[r * rkt], wp.data + r * row, row);
        format::TensorDef wr;
        wr.name = w->name;
        wr.dtype = w->dtype;
        wr.shape = {static_cast<int64_t>(og), static_cast<int64_t>(static_cast<size_t>(g.kh) * rkt)};
        wr.is_constant = true;
        wr.data = padded.data();
        wr.nbytes = padded.size();
        wr.quant.axis = w->quant.axis;
        QRT_RETURN_IF_ERROR(lw.init(c, x, &wr, b ? &bs : nullptr, og, static_cast<size_t>(g.kh) * rkt,
                                    false, &w->quant, gemm_pack));
        if (lw.mode == LinearWeights::Mode::kStatic) op->row_kt_ = rkt;
        else lw = LinearWeights();  // f32 output: the im2col layout below
      }
      if (!op->row_kt_)
        QRT_RETURN_IF_ERROR(lw.init(c, x, &ws, b ? &bs : nullptr, og, K, wo != 0,
                                    g.group == 1 ? &w->quant : nullptr, gemm_pack));
      op->groups_.push_back(std::move(lw));
    }
    const LinearWeights& l0 = op->groups_[0];
    const bool u8_in = l0.mode == LinearWeights::Mode::kStatic || l0.mode == LinearWeights::Mode::kStaticF32;
    op->pad_u8_ = static_cast<uint8_t>(u8_in ? l0.x_zp : 0);
    op->elem_ = u8_in ? 1 : 4;
    // The implicit path depends on the output width: fixed when the file gives the input's W.
    if (op->implicit(kAnyOW)) {
      const int64_t W = x->shape.size() == 4 ? x->shape[2] : -1;
      const int64_t ekw = (g.kw - 1) * g.dw + 1;
      op->taps_path_ = W <= 0 ? -1 : (W + g.pl + g.pr >= ekw && op->implicit((W + g.pl + g.pr - ekw) / g.sw + 1));
    }
    QRT_RETURN_IF_ERROR(op->init_winograd(x, w, wo != 0));
    QRT_RETURN_IF_ERROR(op->init_winograd_f32(x, w, wo != 0));
    return std::unique_ptr<Op>(std::move(op));
  }

  // The tiles of each of N images in as few tasks as whole bands allow (each task reads all the
  // transformed weights once), a multiple of the threads per image: 14x14x256 int8 at 1 thread,
  // 2 bands of 25 and 24 tiles, not 3 of 24. fn(image, t_begin, t_end, scratch slot).
  template <typename Fn>
  static void for_each_band_task(size_t tiles, size_t band, int64_t N, const RunContext& ctx, const Fn& fn) {
    const size_t T = static_cast<size_t>(ctx.pool->threads());
    const size_t per_img = std::min(tiles, (tiles + T * band - 1) / (T * band) * T);
    const size_t per = (tiles + per_img - 1) / per_img;
    SlotPool slots(T);
    ctx.pool->parallel_for(per_img * static_cast<size_t>(N), [&](size_t task) {
      const size_t n = task / per_img, t0 = std::min(tiles, task % per_img * per), t1 = std::min(tiles, t0 + per);
      if (t0 == t1) return;
      const size_t slot = slots.acquire();
      fn(n, t0, t1, slot);
      slots.release(slot);
    });
  }

  // Float Winograd F(2x2, 3x3) (winograd_f32.h) for 3x3 stride-1 ungrouped convolutions with fp32
  // or fp16 weights: 16 multiplications per 2x2 outputs instead of 36, done by the fp32 GEMM on
  // transformed operands, within a stated error bound (not bit-exact; docs/KERNELS_FLOAT.md). The
  // transformed weights are fp32 for both (16/9 x 4 bytes per weight: an fp16 model's layer then
  // gives the fp32 model's bits on the same rounded weights) and replace the GEMM's packed ones,
  // up to kWinogradMaxBytes (ResNet-18: the 56x56 to 14x14 layers; 7x7x512 stays on the GEMM).
  // Fewer than 8 input channels stay on the GEMM (K = C per product would be too short).
  // Decided before the GEMM's weights are packed (they are not, when this holds).
  bool winograd_f32_fits(const format::TensorDef* x, const format::TensorDef* w, bool weight_only) const {
    return g_.kh == 3 && g_.kw == 3 && g_.sh == 1 && g_.sw == 1 && g_.dh == 1 && g_.dw == 1 &&
           g_.group == 1 && g_.cin >= kWinogradMinC && x->dtype == DType::kF32 && !weight_only &&
           (w->dtype == DType::kF32 || w->dtype == DType::kF16) &&
           kernels::winograd_f32_packed_size(kernels::select_gemm_f32(DType::kF32), static_cast<size_t>(g_.cout),
                                             static_cast<size_t>(g_.cin)) <= kWinogradMaxBytes;
  }
  Status init_winograd_f32(const format::TensorDef* x, const format::TensorDef* w, bool weight_only) {
    const LinearWeights& l0 = groups_[0];
    if (!winograd_f32_fits(x, w, weight_only)) return OkStatus();
    // (A float x with float weights is LinearWeights' kFloat mode, which then skipped its pack.)
    QRT_CHECK(l0.mode == LinearWeights::Mode::kFloat && l0.fk && !l0.packed.p);
    const size_t O = static_cast<size_t>(g_.cout), C = static_cast<size_t>(g_.cin);
    const kernels::GemmF32Kernel& gemm = kernels::select_gemm_f32(DType::kF32);
    format::TensorDef wp = *w;
    std::vector<uint8_t> storage;
    if (wp.layout != format::WeightLayout::kPlain) format::make_plain(&wp, &storage);
    std::vector<float> wf;  // fp16 weights widened (exactly); fp32 ones are read in place
    if (w->dtype == DType::kF16) {
      wf.resize(O * 9 * C);
      const auto* h = reinterpret_cast<const uint16_t*>(wp.data);
      for (size_t i = 0; i < wf.size(); ++i) wf[i] = kernels::f16_to_f32(h[i]);
    }
    wino_f32_packed_ = PackedBuffer(kernels::winograd_f32_packed_size(gemm, O, C));
    kernels::winograd_f32_pack(gemm, O, C, wf.empty() ? reinterpret_cast<const float*>(wp.data) : wf.data(),
                               wino_f32_packed_.p);
    wino_f32_ = &kernels::select_winograd_f32();
    wino_gemm_ = &gemm;
    return OkStatus();
  }
  size_t wino_f32_work_bytes() const {
    return (kernels::winograd_f32_work_size(static_cast<size_t>(g_.cin), static_cast<size_t>(g_.cout)) + 63) / 64 * 64;
  }

  Status run_winograd_f32(const Tensor& x, Tensor& y, const RunContext& ctx) const {
    const LinearWeights& l0 = groups_[0];
    const int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2];
    kernels::WinogradF32Params p;
    p.H = static_cast<size_t>(H);
    p.W = static_cast<size_t>(W);
    p.C = static_cast<size_t>(g_.cin);
    p.pad_top = static_cast<size_t>(g_.pt);
    p.pad_left = static_cast<size_t>(g_.pl);
    p.OH = static_cast<size_t>(y.shape[1]);
    p.OW = static_cast<size_t>(y.shape[2]);
    p.O = static_cast<size_t>(g_.cout);
    p.gemm = wino_gemm_;
    p.packed = wino_f32_packed_.p;
    p.bias = l0.bias_f32.empty() ? nullptr : l0.bias_f32.data();
    p.lo = l0.act.lo;
    p.hi = l0.act.hi;
    p.ldy = p.O;
    const size_t img_in = p.H * p.W * p.C, img_out = p.OH * p.OW * p.O;
    for_each_band_task(kernels::winograd_f32_tiles(p.OH, p.OW), kernels::winograd_f32_band(p.C, p.O), N, ctx,
                       [&](size_t n, size_t t0, size_t t1, size_t slot) {
                         kernels::WinogradF32Params q = p;
                         q.x = x.as<float>() + n * img_in;
                         q.y = y.as<float>() + n * img_out;
                         kernels::winograd_f32_run(*wino_f32_, q, t0, t1,
                                                   static_cast<uint8_t*>(ctx.scratch) + slot * wino_f32_work_bytes());
                       });
    return OkStatus();
  }

  // Winograd F(2x2, 3x3) for 3x3 stride-1 u8 convolutions where the int8 GEMM has no VNNI
  // (select_winograd_u8s8(); winograd_u8s8.h says why it pays there): exact, so the output is
  // the GEMM path's bit for bit. Its weights (int16, 16/9 x 2 the int8 bytes) replace the GEMM's
  // packed ones. Only while they stay small enough to stream from L2/L3 per band of tiles
  // (kWinogradMaxBytes); ResNet-18, 1 thread, Zen 3 (AVX2): see docs/KERNELS_INT8.md.
  // Fewer than 8 input channels (an RGB stem) stay on the GEMM: the transform pads channels to
  // 16, which would more than undo the 2.25x.
  static constexpr size_t kWinogradMaxBytes = size_t{4} << 20;
  static constexpr int64_t kWinogradMinC = 8;
  // Decided before the GEMM's weights are packed (they are not packed when this holds).
  bool winograd_u8_fits(const format::TensorDef* x, const format::TensorDef* w, bool weight_only) const {
    const kernels::WinogradU8S8Kernel* wk = kernels::select_winograd_u8s8();
    return wk && g_.kh == 3 && g_.kw == 3 && g_.sh == 1 && g_.sw == 1 && g_.dh == 1 && g_.dw == 1 &&
           g_.group == 1 && g_.cin >= kWinogradMinC && static_cast<size_t>(g_.cin) <= kernels::kWinogradMaxC &&
           x->dtype == DType::kU8 && w->dtype == DType::kS8 && !weight_only &&
           wk->packed_size(static_cast<size_t>(g_.cout), static_cast<size_t>(g_.cin)) <= kWinogradMaxBytes;
  }
  Status init_winograd(const format::TensorDef* x, const format::TensorDef* w, bool weight_only) {
    const kernels::WinogradU8S8Kernel* wk = kernels::select_winograd_u8s8();
    if (!winograd_u8_fits(x, w, weight_only)) return OkStatus();
    // (u8 x s8 is LinearWeights' kStatic or kStaticF32 mode, which then skipped its pack.)
    QRT_CHECK(groups_.size() == 1 && !groups_[0].packed.p);
    const size_t O = static_cast<size_t>(g_.cout), C = static_cast<size_t>(g_.cin);
    format::TensorDef wp = *w;
    std::vector<uint8_t> storage;
    if (wp.layout != format::WeightLayout::kPlain) format::make_plain(&wp, &storage);
    wino_packed_ = PackedBuffer(wk->packed_size(O, C));
    wk->pack(O, C, reinterpret_cast<const int8_t*>(wp.data), wino_packed_.p);
    wino_ = wk;
    row_kt_ = 0;  // (C % 4 != 0 set up row taps, whose GEMM now never runs)
    return OkStatus();
  }
  size_t wino_work_bytes() const { return (wino_->work_size(static_cast<size_t>(g_.cin)) + 63) / 64 * 64; }

  Status run_winograd(const Tensor& x, Tensor& y, const RunContext& ctx) const {
    const int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], OH = y.shape[1], OW = y.shape[2];
    const TapGeom tg = tap_geom(N, H, W, OH, OW);
    const uint8_t* src = padded_input(x, tg, ctx);
    uint8_t* work = static_cast<uint8_t*>(ctx.scratch) + (tg.padded ? (tg.bytes + 63) / 64 * 64 : 0);
    const kernels::GemmU8S8Epilogue ep = groups_[0].static_epilogue();
    kernels::WinogradU8S8Params p;
    p.Hp = tg.Hp;
    p.Wp = tg.Wp;
    p.C = static_cast<size_t>(g_.cin);
    p.x_zero_point = pad_u8_;
    p.OH = static_cast<size_t>(OH);
    p.OW = static_cast<size_t>(OW);
    p.O = static_cast<size_t>(g_.cout);
    p.packed = wino_packed_.p;
    p.ep = &ep;
    p.ldy = p.O;
    const size_t img_in = tg.Hp * tg.Wp * p.C, img_out = p.OH * p.OW * p.O * groups_[0].out_elem();
    for_each_band_task(kernels::winograd_tiles(p.OH, p.OW), wino_->band_tiles(p.C), N, ctx,
                       [&](size_t n, size_t t0, size_t t1, size_t slot) {
                         kernels::WinogradU8S8Params q = p;
                         q.x = src + n * img_in;
                         q.y = static_cast<uint8_t*>(y.data) + n * img_out;
                         wino_->run(q, t0, t1, work + slot * wino_work_bytes());
                       });
    const size_t T = static_cast<size_t>(ctx.pool->threads());
    const LinearWeights& l0 = groups_[0];
    if (l0.mode == LinearWeights::Mode::kStaticF32 && (std::isfinite(l0.act.lo) || std::isfinite(l0.act.hi))) {
      // An f32 output's fused activation, as LinearWeights applies it after its GEMM.
      float* o = y.as<float>();
      const size_t n = static_cast<size_t>(N) * p.OH * p.OW * p.O, chunks = std::min<size_t>(T, (n + 4095) / 4096);
      ctx.pool->parallel_for(chunks, [&](size_t c) {
        size_t b, e;
        split_range(n, chunks, 1, c, &b, &e);
        for (size_t i = b; i < e; ++i) o[i] = std::min(std::max(o[i], l0.act.lo), l0.act.hi);
      });
    }
    return OkStatus();
  }

  // Depthwise fp32: weights transposed once to [KH][KW][C] for the direct kernel.
  Status init_depthwise_f32(const CreateContext& c, const format::TensorDef* w,
                            const format::TensorDef* b) {
    QRT_ASSIGN_OR_RETURN(act_, parse_activation(c));
    const size_t C = static_cast<size_t>(g_.cin), taps = static_cast<size_t>(g_.kh * g_.kw);
    dw_weights_.resize(C * taps);
    for (size_t ch = 0; ch < C; ++ch)
      for (size_t t = 0; t < taps; ++t) {
        size_t i = ch * taps + t;
        float v;
        if (w->dtype == DType::kF32) {
          std::memcpy(&v, w->data + i * 4, 4);
        } else {
          uint16_t h;
          std::memcpy(&h, w->data + i * 2, 2);
          v = w->dtype == DType::kF16 ? half_to_float(h) : bf16_to_float(h);
        }
        dw_weights_[t * C + ch] = v;
      }
    if (b) {
      if (b->dtype != DType::kF32 || shape_numel(b->shape) != C)
        return InvalidArgument(c.where() + "bias must be f32 with " + std::to_string(C) + " elements");
      dw_bias_.assign(reinterpret_cast<const float*>(b->data), reinterpret_cast<const float*>(b->data) + C);
    }
    dwk_ = &kernels::select_dwconv_f32();
    return OkStatus();
  }

  // Depthwise int8: weights transposed to [KH][KW][C] and packed for the direct kernel; the
  // epilogue is the GEMM's (per-channel float multiplier, zero points, fused clamp).
  Status init_depthwise_u8(const CreateContext& c, const format::TensorDef* x,
                           const format::TensorDef* w, const format::TensorDef* b,
                           const format::TensorDef* y) {
    QRT_ASSIGN_OR_RETURN(act_, parse_activation(c));
    const size_t C = static_cast<size_t>(g_.cin), taps = static_cast<size_t>(g_.kh * g_.kw);
    float xs, ys;
    int32_t xz, yz;
    QRT_RETURN_IF_ERROR(per_tensor_params(c, x, "input", &xs, &xz));
    QRT_RETURN_IF_ERROR(per_tensor_params(c, y, "output", &ys, &yz));
    if (xz < 0 || xz > 255 || yz < 0 || yz > 255)
      return InvalidArgument(c.where() + "u8 zero points must lie in [0, 255]");
    const auto& wq = w->quant;
    if (!(wq.scales.size() == 1 || (wq.axis == 0 && wq.scales.size() == C)))
      return InvalidArgument(c.where() + "weights '" + w->name + "' need 1 or " + std::to_string(C) +
                             " scales along axis 0");
    for (int32_t z : wq.zero_points)
      if (z != 0) return Unsupported(c.where() + "weights '" + w->name + "' have a non-zero zero point");
    std::vector<int8_t> t(C * taps);
    const int8_t* wd = reinterpret_cast<const int8_t*>(w->data);
    for (size_t k = 0; k < taps; ++k)
      for (size_t ch = 0; ch < C; ++ch) t[k * C + ch] = wd[ch * taps + k];
    dwq_ = &kernels::select_dwconv_u8s8();
    const size_t dw = static_cast<size_t>(g_.dw);
    dwq_packed_ = PackedBuffer(dwq_->packed_size(static_cast<size_t>(g_.kh), static_cast<size_t>(g_.kw), C, dw));
    dwq_->pack(static_cast<size_t>(g_.kh), static_cast<size_t>(g_.kw), C, dw, t.data(), dwq_packed_.p);
    dwq_scale_.resize(C);
    const float* wsc = wq.scales.data();
    const size_t wstep = wq.scales.size() == 1 ? 0 : 1;
    for (size_t ch = 0; ch < C; ++ch)
      dwq_scale_[ch] = static_cast<float>(static_cast<double>(xs) * wsc[ch * wstep] / ys);
    QRT_RETURN_IF_ERROR(check_multipliers(c, dwq_scale_.data(), C, "requantization"));
    if (b) {
      if (b->dtype != DType::kS32 || shape_numel(b->shape) != C)
        return InvalidArgument(c.where() + "bias must be s32 with " + std::to_string(C) + " elements");
      dwq_bias_.assign(reinterpret_cast<const int32_t*>(b->data), reinterpret_cast<const int32_t*>(b->data) + C);
    }
    dwq_xz_ = xz;
    dwq_yz_ = yz;
    activation_u8_range(act_, ys, yz, &dwq_qmin_, &dwq_qmax_);
    return OkStatus();
  }

  kernels::DwConvU8S8Params dw_params(size_t H, size_t W, size_t C, size_t OH, size_t OW) const {
    kernels::DwConvU8S8Params p;
    p.H = H;
    p.W = W;
    p.C = C;
    p.KH = static_cast<size_t>(g_.kh);
    p.KW = static_cast<size_t>(g_.kw);
    p.stride_h = static_cast<size_t>(g_.sh);
    p.stride_w = static_cast<size_t>(g_.sw);
    p.pad_top = static_cast<size_t>(g_.pt);
    p.pad_left = static_cast<size_t>(g_.pl);
    p.pad_bottom = static_cast<size_t>(g_.pb);
    p.pad_right = static_cast<size_t>(g_.pr);
    p.dilation_h = static_cast<size_t>(g_.dh);
    p.dilation_w = static_cast<size_t>(g_.dw);
    p.OH = OH;
    p.OW = OW;
    p.in_zero_point = dwq_xz_;
    p.out_zero_point = dwq_yz_;
    p.qmin = dwq_qmin_;
    p.qmax = dwq_qmax_;
    p.bias = dwq_bias_.empty() ? nullptr : dwq_bias_.data();
    p.scale = dwq_scale_.data();
    return p;
  }

  Status run_depthwise_u8(const Tensor& x, Tensor& y, ThreadPool* pool) const {
    const kernels::DwConvU8S8Params p =
        dw_params(static_cast<size_t>(x.shape[1]), static_cast<size_t>(x.shape[2]), static_cast<size_t>(x.shape[3]),
                  static_cast<size_t>(y.shape[1]), static_cast<size_t>(y.shape[2]));
    const size_t N = static_cast<size_t>(x.shape[0]), OH = p.OH;
    // Rows in pairs: the k4 kernel computes two output rows of a 3x3 stride-1 layer from one
    // interleave of their input rows, and a 1-row range loses that (at 2 threads, 4 tasks each,
    // the 7x7 and 14x14 layers of MobileNetV2 got 1-row ranges).
    const size_t pairs = (OH * N + 1) / 2;
    const size_t tasks = std::min(pairs, static_cast<size_t>(pool->threads()) * 4);
    pool->parallel_for(tasks, [&](size_t t) {
      size_t b, e;
      split_range(OH * N, tasks, 2, t, &b, &e);
      for (size_t r = b; r < e;) {
        size_t n = r / OH, oy = r % OH, oy_end = std::min(OH, oy + (e - r));
        dwq_->run(p, x.as<uint8_t>() + n * p.H * p.W * p.C, dwq_packed_.p,
                  y.as<uint8_t>() + n * OH * p.OW * p.C, oy, oy_end);
        r += oy_end - oy;
      }
    });
    return OkStatus();
  }

  static float bf16_to_float(uint16_t h) {
    uint32_t u = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  static float half_to_float(uint16_t h) {
    uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    float v;
    if (exp == 0) v = std::ldexp(static_cast<float>(man), -24);
    else if (exp == 31) v = man ? NAN : INFINITY;
    else v = std::ldexp(static_cast<float>(man | 0x400), static_cast<int>(exp) - 25);
    return sign ? -v : v;
  }

  Status run_depthwise_f32(const Tensor& x, Tensor& y, ThreadPool* pool) const {
    kernels::DwConvF32Shape s;
    s.H = static_cast<size_t>(x.shape[1]);
    s.W = static_cast<size_t>(x.shape[2]);
    s.C = static_cast<size_t>(x.shape[3]);
    s.KH = static_cast<size_t>(g_.kh);
    s.KW = static_cast<size_t>(g_.kw);
    s.stride_h = static_cast<size_t>(g_.sh);
    s.stride_w = static_cast<size_t>(g_.sw);
    s.dilation_h = static_cast<size_t>(g_.dh);
    s.dilation_w = static_cast<size_t>(g_.dw);
    s.pad_top = static_cast<size_t>(g_.pt);
    s.pad_left = static_cast<size_t>(g_.pl);
    s.pad_bottom = static_cast<size_t>(g_.pb);
    s.pad_right = static_cast<size_t>(g_.pr);
    const size_t OH = static_cast<size_t>(y.shape[1]), OW = static_cast<size_t>(y.shape[2]);
    const size_t N = static_cast<size_t>(x.shape[0]);
    const size_t T = static_cast<size_t>(pool->threads());
    const size_t tasks = std::min(OH * N, T * 4);
    pool->parallel_for(tasks, [&](size_t t) {
      size_t b, e;
      split_range(OH * N, tasks, 1, t, &b, &e);
      for (size_t r = b; r < e;) {
        size_t n = r / OH, oy = r % OH, oy_end = std::min(OH, oy + (e - r));
        dwk_->run(s, x.as<float>() + n * s.H * s.W * s.C, dw_weights_.data(),
                  dw_bias_.empty() ? nullptr : dw_bias_.data(), act_.lo, act_.hi,
                  y.as<float>() + n * OH * OW * s.C, oy, oy_end);
        r += oy_end - oy;
      }
    });
    return OkStatus();
  }

  bool direct() const {
    return g_.kh == 1 && g_.kw == 1 && g_.sh == 1 && g_.sw == 1 && g_.pt == 0 && g_.pl == 0 &&
           g_.pb == 0 && g_.pr == 0 && g_.group == 1;
  }

  Status infer(InferContext& ctx) const override {
    const ValueInfo* x = ctx.inputs[0];
    if (x->shape.size() != 4 || x->shape[3] != g_.cin)
      return InvalidArgument(ctx.where() + "input must be NHWC [N, H, W, " + std::to_string(g_.cin) +
                             "], got " + shape_str(x->shape));
    int64_t H = x->shape[1], W = x->shape[2];
    int64_t ekh = (g_.kh - 1) * g_.dh + 1, ekw = (g_.kw - 1) * g_.dw + 1;
    if (H + g_.pt + g_.pb < ekh || W + g_.pl + g_.pr < ekw)
      return InvalidArgument(ctx.where() + "input " + shape_str(x->shape) +
                             " is smaller than the (dilated, padded) kernel");
    int64_t OH = (H + g_.pt + g_.pb - ekh) / g_.sh + 1;
    int64_t OW = (W + g_.pl + g_.pr - ekw) / g_.sw + 1;
    ctx.outputs[0]->shape = {x->shape[0], OH, OW, g_.cout};
    if (dwk_ || dwq_) {
      ctx.outputs[0]->dtype = dwq_ ? DType::kU8 : DType::kF32;
      return OkStatus();
    }
    const LinearWeights& l0 = groups_[0];
    ctx.outputs[0]->dtype = l0.out_dtype();
    size_t M = static_cast<size_t>(x->shape[0] * OH * OW);
    if (wino_f32_) {
      ctx.scratch_bytes = static_cast<size_t>(ctx.threads) * wino_f32_work_bytes();
      return OkStatus();
    }
    if (wino_) {
      const TapGeom t = tap_geom(x->shape[0], H, W, OH, OW);
      ctx.scratch_bytes = (t.padded ? (t.bytes + 63) / 64 * 64 : 0) + static_cast<size_t>(ctx.threads) * wino_work_bytes();
      return OkStatus();
    }
    if (implicit(OW)) {
      const TapGeom t = tap_geom(x->shape[0], H, W, OH, OW);
      ctx.scratch_bytes = t.padded ? (t.bytes + 63) / 64 * 64 : 0;
      return OkStatus();
    }
    if (row_kt_) {
      ctx.scratch_bytes = (M * l0.K + 63) / 64 * 64 + l0.scratch_bytes(M);
      return OkStatus();
    }
    if (fused(M, ctx.threads)) {
      ctx.scratch_bytes = static_cast<size_t>(ctx.threads) * block_bytes();
      return OkStatus();
    }
    size_t col = direct() ? 0 : (M * l0.K * elem_ + 63) / 64 * 64;
    ctx.scratch_bytes = col + l0.scratch_bytes(M);
    return OkStatus();
  }

  // im2col of u8 or f32 activations through the im2col_u8 kernels: a pure byte copy, so an f32
  // pixel is 4 * C bytes and its padding 0.0f is the zero byte (im2col_params scales by elem_).
  // Row stride ldo in elements (K).
  void im2col_bytes(const void* xv, int64_t N, int64_t H, int64_t W, int64_t OH, int64_t OW,
                    int64_t gi, void* colv, size_t ldo, ThreadPool* pool) const {
    const auto* x = static_cast<const uint8_t*>(xv);
    auto* col = static_cast<uint8_t*>(colv);
    const kernels::Im2ColU8Kernel& k = kernels::select_im2col_u8();
    const kernels::Im2ColU8Params p = im2col_params(H, W, OH, OW, gi);
    const size_t P = static_cast<size_t>(OH * OW), img = static_cast<size_t>(H * W * g_.cin) * elem_;
    const size_t ldb = ldo * elem_;
    const size_t tasks = std::min<size_t>(static_cast<size_t>(N) * P, static_cast<size_t>(pool->threads()));
    pool->parallel_for(tasks, [&](size_t t) {
      size_t b, e;
      split_range(static_cast<size_t>(N) * P, tasks, 1, t, &b, &e);
      for (size_t r = b; r < e;) {
        size_t n = r / P, p0 = r % P, p1 = std::min(P, p0 + (e - r));
        k.run(p, x + n * img, col + r * ldb, ldb, p0, p1);
        r += p1 - p0;
      }
    });
  }

  // Implicit GEMM: when the selected int8 kernel has run_taps, a k x k convolution reads its
  // input through one offset per kernel tap instead of an im2col matrix: for output row oh, pixel
  // ow's K bytes are the kt = cin bytes at each tap of its window, and horizontally adjacent
  // pixels' windows are sw * cin bytes apart, so one run_taps call computes one output row. The
  // input is first copied into a buffer padded with the input zero point (unless the window never
  // leaves the image), so that no tap needs a bounds check. Against im2col this writes Hp x Wp x C
  // bytes once instead of OH x OW x K (9x the input for 3x3) and reads A from the input itself.
  // Only where each call has rows enough for full tiles and the packed weights stay in L2: every
  // output row reads all of B again. ResNet-18 layers, 1 thread, AVX-512 VNNI (Cascade Lake,
  // 1 MiB L2), us implicit / im2col: 56x56x64 3x3 452-457 / 608-620, 28x28x128 3x3 442-469 /
  // 473-492, 14x14x256 3x3 (B 590 KB) 474-500 / 464-492, 7x7x512 3x3 (B 2.4 MB) 957-975 / 514-552.
  static constexpr int64_t kImplicitMinOW = 24, kAnyOW = INT64_MAX;
  bool implicit(int64_t OW) const {
    const LinearWeights& l0 = groups_[0];
    if (row_kt_) return OW >= 3;  // weights packed for row taps: im2col_rows() below OW = 3
    return !direct() && g_.group == 1 && l0.mode == LinearWeights::Mode::kStatic && l0.qk &&
           l0.qk->run_taps && g_.cin % 4 == 0 &&
           static_cast<size_t>(g_.kh * g_.kw) <= kernels::kMaxGemmTaps && OW >= kImplicitMinOW &&
           l0.N * l0.K <= cpu::l2_resident_limit();
  }
  // Taps of the implicit GEMM: kernel rows of row_kt_ bytes, or single pixels of C bytes.
  size_t tap_count() const { return static_cast<size_t>(row_kt_ ? g_.kh : g_.kh * g_.kw); }
  size_t tap_bytes() const { return row_kt_ ? row_kt_ : static_cast<size_t>(g_.cin); }
  struct TapGeom {
    size_t Hp, Wp;   // rows and pixels per row of the buffer A0 is read from
    size_t bytes;    // N x Hp x Wp x C when padded
    bool padded;     // false: read x itself (no padding, the windows stay inside)
  };
  TapGeom tap_geom(int64_t N, int64_t H, int64_t W, int64_t OH, int64_t OW) const {
    TapGeom t;
    const int64_t hp = (OH - 1) * g_.sh + (g_.kh - 1) * g_.dh + 1;
    const int64_t wp = (OW - 1) * g_.sw + (g_.kw - 1) * g_.dw + 1;
    // Row taps read row_kt_ - KW * C bytes past a window's last pixel: whole extra pixels.
    const int64_t extra = row_kt_ ? (static_cast<int64_t>(row_kt_) - g_.kw * g_.cin + g_.cin - 1) / g_.cin : 0;
    t.padded = row_kt_ || g_.pt != 0 || g_.pl != 0 || hp > H || wp > W;
    t.Hp = static_cast<size_t>(t.padded ? hp : H);
    t.Wp = static_cast<size_t>(t.padded ? wp + extra : W);
    t.bytes = static_cast<size_t>(N) * t.Hp * t.Wp * static_cast<size_t>(g_.cin);
    return t;
  }

  // The input padded with its zero point into the scratch buffer's first tg.bytes (or the input
  // itself when tg.padded is false).
  const uint8_t* padded_input(const Tensor& x, const TapGeom& tg, const RunContext& ctx) const {
    const uint8_t* src = x.as<uint8_t>();
    if (!tg.padded) return src;
    const int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2];
    const size_t C = static_cast<size_t>(g_.cin), pitch = tg.Wp * C;
    uint8_t* pad = static_cast<uint8_t*>(ctx.scratch);
    const size_t rows = static_cast<size_t>(N) * tg.Hp;
    const size_t left = static_cast<size_t>(g_.pl) * C;
    const size_t lpad = std::min(left, pitch), in_row = static_cast<size_t>(W) * C;
    const size_t copy = std::min(in_row, pitch - lpad);
    ctx.pool->parallel_for(rows, [&](size_t r) {
      uint8_t* dst = pad + r * pitch;
      const int64_t ih = static_cast<int64_t>(r % tg.Hp) - g_.pt;
      if (ih < 0 || ih >= H) {
        std::memset(dst, pad_u8_, pitch);
        return;
      }
      std::memset(dst, pad_u8_, lpad);
      std::memcpy(dst + lpad, src + ((r / tg.Hp) * static_cast<size_t>(H) + static_cast<size_t>(ih)) * in_row,
                  copy);
      std::memset(dst + lpad + copy, pad_u8_, pitch - lpad - copy);
    });
    return pad;
  }

  Status run_implicit(const Tensor& x, Tensor& y, const RunContext& ctx) const {
    const LinearWeights& l0 = groups_[0];
    const int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], OH = y.shape[1], OW = y.shape[2];
    const TapGeom tg = tap_geom(N, H, W, OH, OW);
    const size_t C = static_cast<size_t>(g_.cin), pitch = tg.Wp * C;
    const uint8_t* src = padded_input(x, tg, ctx);
    size_t off[kernels::kMaxGemmTaps];
    size_t taps = 0;
    for (int64_t i = 0; i < g_.kh; ++i)
      for (int64_t j = 0; j < (row_kt_ ? 1 : g_.kw); ++j)
        off[taps++] = static_cast<size_t>(i * g_.dh) * pitch + static_cast<size_t>(j * g_.dw) * C;
    const kernels::GemmU8S8Epilogue ep = l0.static_epilogue();
    const size_t rows = static_cast<size_t>(N * OH), ow = static_cast<size_t>(OW);
    const size_t cout = static_cast<size_t>(g_.cout), lda = static_cast<size_t>(g_.sw) * C;
    // One output row per task, handed out dynamically (rows of equal cost; a preempted thread
    // delays only the rows it holds).
    ctx.pool->parallel_for(rows, [&](size_t r) {
      const size_t n = r / static_cast<size_t>(OH), oh = r % static_cast<size_t>(OH);
      const uint8_t* a0 = src + (n * tg.Hp + oh * static_cast<size_t>(g_.sh)) * pitch;
      uint8_t* c = static_cast<uint8_t*>(y.data) + r * ow * cout;
      l0.qk->run_taps(ow, cout, taps, tap_bytes(), off, a0, lda, l0.packed.p, ep, c, cout, 0, ow, 0, cout);
    });
    return OkStatus();
  }

  // Row-taps weights below the implicit path's 3 pixels per row: the same K = KH x row_kt_
  // layout gathered into rows (each kernel row's KW x C bytes, then zero-point filler).
  Status run_row_im2col(const Tensor& x, Tensor& y, const RunContext& ctx) const {
    const LinearWeights& l0 = groups_[0];
    const int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2], OH = y.shape[1], OW = y.shape[2];
    const size_t C = static_cast<size_t>(g_.cin), M = static_cast<size_t>(N * OH * OW), K = l0.K;
    auto* col = static_cast<uint8_t*>(ctx.scratch);
    std::memset(col, pad_u8_, M * K);
    const uint8_t* xs = x.as<uint8_t>();
    for (size_t m = 0; m < M; ++m) {
      const int64_t n = static_cast<int64_t>(m) / (OH * OW), p = static_cast<int64_t>(m) % (OH * OW);
      const int64_t oh = p / OW, ow = p % OW;
      for (int64_t i = 0; i < g_.kh; ++i) {
        const int64_t ih = oh * g_.sh - g_.pt + i * g_.dh;
        if (ih < 0 || ih >= H) continue;
        for (int64_t j = 0; j < g_.kw; ++j) {
          const int64_t iw = ow * g_.sw - g_.pl + j;
          if (iw < 0 || iw >= W) continue;
          std::memcpy(col + m * K + static_cast<size_t>(i) * row_kt_ + static_cast<size_t>(j) * C,
                      xs + ((n * H + ih) * W + iw) * static_cast<int64_t>(C), C);
        }
      }
    }
    return l0.compute(M, col, K, y.data, static_cast<size_t>(g_.cout), col + (M * K + 63) / 64 * 64, ctx.pool);
  }

  // Fused im2col + GEMM: blocks of kBlockRows output pixels, each gathered into a per-thread
  // buffer that stays in L2 and multiplied at once, instead of materialising the whole M x K
  // column matrix and reading it back. Used when there are enough blocks to keep every thread
  // busy; small late layers split the GEMM's columns instead (the unfused path).
  static constexpr size_t kBlockRows = 256;
  size_t block_bytes() const { return (kBlockRows * groups_[0].K * elem_ + 63) / 64 * 64; }
  bool fused(size_t M, int threads) const {
    const LinearWeights& l0 = groups_[0];
    return !direct() && g_.group == 1 && l0.mode != LinearWeights::Mode::kDynamic &&
           (M + kBlockRows - 1) / kBlockRows >= 2 * static_cast<size_t>(threads);
  }

  // One memcpy per kernel row where the row's taps are contiguous in the input (dilation 1) and
  // inside it, instead of one per tap: the 7x7 RGB stem copied 12 bytes per call (49 calls per
  // pixel) and spent ~3x its GEMM time here.
  Status run_fused(const Tensor& x, Tensor& y, size_t M, const RunContext& ctx) const {
    const LinearWeights& l0 = groups_[0];
    const int64_t H = x.shape[1], W = x.shape[2], OH = y.shape[1], OW = y.shape[2];
    const size_t K = l0.K, P = static_cast<size_t>(OH * OW), ldc = static_cast<size_t>(g_.cout);
    const size_t blocks = (M + kBlockRows - 1) / kBlockRows;
    const size_t img = static_cast<size_t>(H * W * g_.cin) * elem_, ldb = K * elem_;
    const kernels::Im2ColU8Kernel& ik = kernels::select_im2col_u8();
    const kernels::Im2ColU8Params ip = im2col_params(H, W, OH, OW, 0);
    SlotPool slots(static_cast<size_t>(ctx.pool->threads()));
    ctx.pool->parallel_for(blocks, [&](size_t b) {
      const size_t slot = slots.acquire();
      uint8_t* buf = static_cast<uint8_t*>(ctx.scratch) + slot * block_bytes();
      const size_t r0 = b * kBlockRows, r1 = std::min(M, r0 + kBlockRows);
      for (size_t r = r0; r < r1;) {
        size_t n = r / P, p0 = r % P, p1 = std::min(P, p0 + (r1 - r));
        ik.run(ip, x.as<uint8_t>() + n * img, buf + (r - r0) * ldb, ldb, p0, p1);
        r += p1 - p0;
      }
      l0.run_block(r1 - r0, buf, K, static_cast<uint8_t*>(y.data) + r0 * ldc * l0.out_elem(), ldc);
      slots.release(slot);
    });
    return OkStatus();
  }

  kernels::Im2ColU8Params im2col_params(int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t gi) const {
    kernels::Im2ColU8Params p;
    p.H = static_cast<size_t>(H);
    p.W = static_cast<size_t>(W);
    p.C_total = static_cast<size_t>(g_.cin) * elem_;  // bytes (f32: 4 per channel)
    p.Cg = static_cast<size_t>(g_.cin / g_.group) * elem_;
    p.c_begin = static_cast<size_t>(gi) * p.Cg;
    p.KH = static_cast<size_t>(g_.kh);
    p.KW = static_cast<size_t>(g_.kw);
    p.stride_h = static_cast<size_t>(g_.sh);
    p.stride_w = static_cast<size_t>(g_.sw);
    p.pad_top = static_cast<size_t>(g_.pt);
    p.pad_left = static_cast<size_t>(g_.pl);
    p.dilation_h = static_cast<size_t>(g_.dh);
    p.dilation_w = static_cast<size_t>(g_.dw);
    p.OH = static_cast<size_t>(OH);
    p.OW = static_cast<size_t>(OW);
    p.zero_point = pad_u8_;
    return p;
  }

  Status run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    Tensor& y = ctx.out(0);
    const int64_t N = x.shape[0], H = x.shape[1], W = x.shape[2];
    const int64_t OH = y.shape[1], OW = y.shape[2];
    if (dwk_) return run_depthwise_f32(x, y, ctx.pool);
    if (dwq_) return run_depthwise_u8(x, y, ctx.pool);
    const size_t M = static_cast<size_t>(N * OH * OW);
    const LinearWeights& l0 = groups_[0];
    if (wino_) return run_winograd(x, y, ctx);
    if (wino_f32_) return run_winograd_f32(x, y, ctx);
    if (direct())
      return l0.compute(M, x.data, static_cast<size_t>(g_.cin), y.data, static_cast<size_t>(g_.cout),
                        ctx.scratch, ctx.pool);
    if (implicit(OW)) return run_implicit(x, y, ctx);
    if (row_kt_) return run_row_im2col(x, y, ctx);
    if (fused(M, ctx.pool->threads())) return run_fused(x, y, M, ctx);
    auto* col = static_cast<uint8_t*>(ctx.scratch);
    void* gemm_scratch = col + (M * l0.K * elem_ + 63) / 64 * 64;
    const size_t og = static_cast<size_t>(g_.cout / g_.group);
    for (int64_t gi = 0; gi < g_.group; ++gi) {
      im2col_bytes(x.data, N, H, W, OH, OW, gi, col, l0.K, ctx.pool);
      // The output's element size, not the input's: u8 in, f32 out (dequantizing epilogue).
      void* out = static_cast<uint8_t*>(y.data) + gi * og * groups_[gi].out_elem();
      QRT_RETURN_IF_ERROR(groups_[gi].compute(M, col, l0.K, out, static_cast<size_t>(g_.cout),
                                              gemm_scratch, ctx.pool));
    }
    return OkStatus();
  }

  bool foldable() const override { return false; }
  std::string kernel_name() const override {
    if (dwk_) return dwk_->name;
    if (dwq_) return dwq_->name;
    if (wino_) return wino_->name;
    if (wino_f32_) return std::string(wino_f32_->name) + "+" + wino_gemm_->name;
    const char* path = direct()           ? ""
                       : row_kt_          ? (taps_path_ == 1 ? "rowtaps+" : "rowtaps|im2col+")
                       : taps_path_ == 1  ? "taps+"
                       : taps_path_ == -1 ? "im2col|taps+"
                                          : "im2col+";
    return path + groups_[0].kernel_name() +
           (g_.group > 1 ? " x" + std::to_string(g_.group) + " groups" : "");
  }
  size_t packed_bytes() const override {
    size_t n = dw_weights_.size() * sizeof(float) + dwq_packed_.n + wino_packed_.n + wino_f32_packed_.n;
    for (const auto& l : groups_) n += l.packed.mapped ? 0 : l.packed.n;
    return n;
  }
  size_t in_place_bytes() const override {
    size_t n = 0;
    for (const auto& l : groups_) n += l.packed.mapped ? l.packed.n : 0;
    return n;
  }

 private:
  friend class DwBlockOp;
  friend bool plain_1x1_u8(const Conv2dOp* op);
  friend bool fusable_dw(const Conv2dOp* op);
  ConvGeom g_;
  std::vector<LinearWeights> groups_;
  const kernels::DwConvF32Kernel* dwk_ = nullptr;
  std::vector<float> dw_weights_, dw_bias_;
  Activation act_;
  const kernels::DwConvU8S8Kernel* dwq_ = nullptr;
  PackedBuffer dwq_packed_;
  std::vector<float> dwq_scale_;
  std::vector<int32_t> dwq_bias_;
  int32_t dwq_xz_ = 0, dwq_yz_ = 0, dwq_qmin_ = 0, dwq_qmax_ = 255;
  uint8_t pad_u8_ = 0;
  int taps_path_ = 0;  // kernel_name(): 1 implicit GEMM, 0 im2col, -1 by the run's width
  size_t row_kt_ = 0;  // row taps: bytes per kernel row (weights packed as [O][KH][row_kt_])
  size_t elem_ = 4;
  const kernels::WinogradU8S8Kernel* wino_ = nullptr;  // set: every run takes run_winograd()
  PackedBuffer wino_packed_;
  const kernels::WinogradF32Kernel* wino_f32_ = nullptr;  // set: every run takes run_winograd_f32()
  PackedBuffer wino_f32_packed_;
  const kernels::GemmF32Kernel* wino_gemm_ = nullptr;  // the fp32-weight GEMM U is packed for
};

// An inverted-residual block's convolutions — [1x1 expansion] -> u8 depthwise -> [1x1
// projection], at least one of the two 1x1s (u8 -> u8 GEMMs) — run together in strips of output
// rows. Each task owns a contiguous range of output rows and, per strip, computes: the expanded
// input rows the strip needs into buffer E (keeping the rows it shares with the previous strip);
// the depthwise rows from E (or straight from the input when there is no expansion) into buffer
// D, or into the output when there is no projection; the projected rows from D into the output.
// The expanded tensor and the depthwise output, the largest tensors of such a network
// (MobileNetV2: 112x112x96 expanded, 1.2 MB), never exist whole, and each stage reads what the
// last one wrote while it is still in L1/L2. Every stage is the unfused op's kernel on the same
// packed weights, so the output is bit-identical to running the nodes.
class DwBlockOp : public Op {
 public:
  // `expand` and `project` may be null (not both); the quant records are those of the expanded
  // tensor and of the depthwise output (used to infer the intermediates).
  DwBlockOp(std::unique_ptr<Op> expand, std::unique_ptr<Op> dw, std::unique_ptr<Op> project,
            const format::QuantParams* e_quant, const format::QuantParams* d_quant)
      : a_own_(std::move(expand)), b_own_(std::move(dw)), c_own_(std::move(project)),
        e_quant_(e_quant), d_quant_(d_quant) {
    a_ = static_cast<const Conv2dOp*>(a_own_.get());
    b_ = static_cast<const Conv2dOp*>(b_own_.get());
    c_ = static_cast<const Conv2dOp*>(c_own_.get());
  }
  // `prev` (a DwBlockOp without a projection, or a depthwise Conv2dOp) followed by `project`.
  static std::unique_ptr<Op> with_projection(std::unique_ptr<Op> prev, std::unique_ptr<Op> project,
                                             const format::QuantParams* d_quant) {
    if (auto* blk = dynamic_cast<DwBlockOp*>(prev.get()))
      return std::make_unique<DwBlockOp>(std::move(blk->a_own_), std::move(blk->b_own_), std::move(project),
                                         blk->e_quant_, d_quant);
    return std::make_unique<DwBlockOp>(nullptr, std::move(prev), std::move(project), nullptr, d_quant);
  }
  bool projects() const { return c_ != nullptr; }

  // Buffer budget per task: the expanded rows of a strip (or, without an expansion, its
  // depthwise output rows): small enough for L2 beside the weights, large enough that a strip is
  // hundreds of GEMM rows. (Expansion + depthwise on MobileNetV2, 1 and 2 threads: 32 KB 1.37 /
  // 0.85 ms, 64 KB 1.22 / 0.80, 96 KB 1.19 / 0.79, 192 KB 1.20 / 0.80.)
  static constexpr size_t kStripBytes = 96 << 10;

  struct Strip {
    size_t rows_out = 1;  // output rows per strip
    size_t rows_in = 1;   // depthwise input rows one strip reads
    size_t e_bytes = 0;   // per task, 64-byte multiples: buffer E (expansion only)
    size_t d_bytes = 0;   // buffer D (projection only)
  };
  // W, C: the depthwise input's width and channels; OW its output width. `task_rows`: the most
  // output rows one task computes (a strip never needs to be longer).
  Strip strip(size_t W, size_t C, size_t OW, size_t task_rows) const {
    const ConvGeom& g = b_->g_;
    const size_t sh = static_cast<size_t>(g.sh), ekh = static_cast<size_t>((g.kh - 1) * g.dh + 1);
    Strip s;
    if (a_) {
      const size_t fit = std::max<size_t>(kStripBytes / std::max<size_t>(W * C, 1), ekh);
      s.rows_out = (fit - ekh) / sh + 1;
    } else {
      s.rows_out = std::max<size_t>(1, kStripBytes / std::max<size_t>(OW * C, 1));
    }
    // Stride 1: whole row pairs (the k4 kernel's two-row mode works on pairs).
    if (sh == 1) s.rows_out = std::max<size_t>(2, s.rows_out & ~size_t(1));
    s.rows_out = std::max<size_t>(1, std::min(s.rows_out, task_rows));
    s.rows_in = (s.rows_out - 1) * sh + ekh;
    if (a_) s.e_bytes = (s.rows_in * W * C + 63) / 64 * 64;
    if (c_) s.d_bytes = (s.rows_out * OW * C + 63) / 64 * 64;
    return s;
  }
  // Small maps at 2+ threads run the stages one after the other over whole tensors instead:
  // split into row ranges, each task's strips recompute the ekh - sh expanded rows its neighbour
  // computes too (the depthwise halo), which on a 7-row map at 2 threads is 2 of 7 rows (+29 %
  // expansion work) and unbalances the split (4 + 3 rows). Whole-tensor stages split each GEMM and
  // the depthwise rows evenly with no recomputation; the tensors are small exactly when the halo
  // is large. Used when the recomputed rows exceed kMaxHalo of the expanded rows.
  static constexpr double kMaxHalo = 0.1;
  bool whole(size_t N, size_t H, size_t tasks) const {
    if (!a_ || tasks < 2) return false;
    const ConvGeom& g = b_->g_;
    const int64_t halo = (g.kh - 1) * g.dh + 1 - g.sh;
    return halo > 0 && static_cast<double>((tasks - 1) * static_cast<size_t>(halo)) >
                           kMaxHalo * static_cast<double>(N * H);
  }
  static size_t tasks_for(size_t rows, int threads) {
    return std::max<size_t>(1, std::min((rows + 1) / 2, static_cast<size_t>(threads)));
  }
  // The longest range split_range(rows, tasks, 2, ...) hands one task.
  static size_t task_rows(size_t rows, size_t tasks) {
    size_t most = 0;
    for (size_t t = 0; t < tasks; ++t) {
      size_t b, e;
      split_range(rows, tasks, 2, t, &b, &e);
      most = std::max(most, e - b);
    }
    return most;
  }

  Status infer(InferContext& ctx) const override {
    ValueInfo mid_e, mid_d;
    mid_e.quant = e_quant_;
    mid_d.quant = d_quant_;
    const ValueInfo* din = ctx.inputs[0];
    size_t scratch = 0;
    auto stage = [&](const Conv2dOp* op, const ValueInfo* in, ValueInfo* out) {
      InferContext c{ctx.node, {in}, {out}};
      c.threads = ctx.threads;
      Status st = op->infer(c);
      scratch += c.scratch_bytes;
      return st;
    };
    if (a_) {
      QRT_RETURN_IF_ERROR(stage(a_, din, &mid_e));
      din = &mid_e;
    }
    ValueInfo* dout = c_ ? &mid_d : ctx.outputs[0];
    QRT_RETURN_IF_ERROR(stage(b_, din, dout));
    if (c_) QRT_RETURN_IF_ERROR(stage(c_, &mid_d, ctx.outputs[0]));
    if (scratch || din->dtype != DType::kU8 || dout->dtype != DType::kU8)
      return InvalidArgument(ctx.where() + "internal: a fused stage needs scratch or an intermediate is not u8");
    const size_t rows = static_cast<size_t>(dout->shape[0] * dout->shape[1]), tasks = tasks_for(rows, ctx.threads);
    if (whole(static_cast<size_t>(din->shape[0]), static_cast<size_t>(din->shape[1]), tasks)) {
      ctx.scratch_bytes = (shape_numel(din->shape) + 63) / 64 * 64 + (c_ ? (shape_numel(dout->shape) + 63) / 64 * 64 : 0);
      return OkStatus();
    }
    const Strip st = strip(static_cast<size_t>(din->shape[2]), static_cast<size_t>(din->shape[3]),
                           static_cast<size_t>(dout->shape[2]), task_rows(rows, tasks));
    ctx.scratch_bytes = tasks * (st.e_bytes + st.d_bytes);
    return OkStatus();
  }

  Status run(const RunContext& ctx) const override {
    const Tensor& x = ctx.in(0);
    Tensor& y = ctx.out(0);
    const ConvGeom& g = b_->g_;
    const size_t N = static_cast<size_t>(x.shape[0]), H = static_cast<size_t>(x.shape[1]),
                 W = static_cast<size_t>(x.shape[2]), Cin = static_cast<size_t>(x.shape[3]);
    const size_t C = static_cast<size_t>(g.cin);  // depthwise channels
    const size_t OH = static_cast<size_t>(y.shape[1]), OW = static_cast<size_t>(y.shape[2]),
                 Cout = static_cast<size_t>(y.shape[3]);
    const size_t sh = static_cast<size_t>(g.sh), pt = static_cast<size_t>(g.pt);
    const size_t ekh = static_cast<size_t>((g.kh - 1) * g.dh + 1);
    const size_t row = W * C;
    const size_t rows = N * OH, tasks = tasks_for(rows, ctx.pool->threads());
    const Strip st = strip(W, C, OW, task_rows(rows, tasks));
    kernels::DwConvU8S8Params p = b_->dw_params(H, W, C, OH, OW);
    const uint8_t* xb = x.as<uint8_t>();
    uint8_t* yb = y.as<uint8_t>();
    if (whole(N, H, tasks)) {
      // Stages over whole tensors (see whole()): E = expanded input, D = depthwise output.
      uint8_t* ebuf = static_cast<uint8_t*>(ctx.scratch);
      uint8_t* dbuf = ebuf + (N * H * W * C + 63) / 64 * 64;
      QRT_RETURN_IF_ERROR(a_->groups_[0].compute(N * H * W, xb, Cin, ebuf, C, nullptr, ctx.pool));
      uint8_t* dout = c_ ? dbuf : yb;
      ctx.pool->parallel_for(tasks, [&](size_t t) {
        size_t b, e;
        split_range(rows, tasks, 1, t, &b, &e);
        for (size_t r = b; r < e;) {
          const size_t n = r / OH, oh0 = r % OH, oh1 = std::min(OH, oh0 + (e - r));
          b_->dwq_->run(p, ebuf + n * H * W * C, b_->dwq_packed_.p, dout + n * OH * OW * C, oh0, oh1);
          r += oh1 - oh0;
        }
      });
      if (c_) QRT_RETURN_IF_ERROR(c_->groups_[0].compute(N * OH * OW, dbuf, C, yb, Cout, nullptr, ctx.pool));
      return OkStatus();
    }
    ctx.pool->parallel_for(tasks, [&](size_t t) {
      uint8_t* ebuf = static_cast<uint8_t*>(ctx.scratch) + t * (st.e_bytes + st.d_bytes);
      uint8_t* dbuf = ebuf + st.e_bytes;
      size_t b, e;
      split_range(rows, tasks, 2, t, &b, &e);
      for (size_t r = b; r < e;) {
        const size_t n = r / OH, oy0 = r % OH, oy1 = std::min(OH, oy0 + (e - r));
        size_t have_lo = 0, have_hi = 0;  // expanded rows in ebuf (ebuf row 0 is have_lo)
        for (size_t oh0 = oy0; oh0 < oy1;) {
          const size_t oh1 = std::min(oy1, oh0 + st.rows_out);
          // Input rows these outputs read; pad_top < ekh (fusion condition) keeps the range
          // non-empty.
          const size_t lo = oh0 * sh > pt ? oh0 * sh - pt : 0;
          const size_t hi = std::min(H, (oh1 - 1) * sh + ekh - pt);
          const uint8_t* din;
          if (a_) {
            size_t from = lo;
            if (have_hi > lo && have_lo <= lo) {
              std::memmove(ebuf, ebuf + (lo - have_lo) * row, (have_hi - lo) * row);
              from = have_hi;
            }
            a_->groups_[0].run_block((hi - from) * W, xb + (n * H + from) * W * Cin, Cin,
                                     ebuf + (from - lo) * row, C);
            have_lo = lo;
            have_hi = hi;
            din = ebuf;
          } else {
            din = xb + (n * H + lo) * row;
          }
          // The depthwise kernel sees rows [lo, hi) as the whole image, with pad_top shifted
          // so its padding logic is unchanged.
          kernels::DwConvU8S8Params q = p;
          q.H = hi - lo;
          q.pad_top = pt + lo - oh0 * sh;
          q.OH = oh1 - oh0;
          uint8_t* dout = c_ ? dbuf : yb + (n * OH + oh0) * OW * C;
          b_->dwq_->run(q, din, b_->dwq_packed_.p, dout, 0, oh1 - oh0);
          if (c_)
            c_->groups_[0].run_block((oh1 - oh0) * OW, dbuf, C, yb + (n * OH + oh0) * OW * Cout, Cout);
          oh0 = oh1;
        }
        r += oy1 - oy0;
      }
    });
    return OkStatus();
  }

  bool foldable() const override { return false; }
  std::string kernel_name() const override {
    return (a_ ? a_->kernel_name() + "+" : "") + b_->kernel_name() + (c_ ? "+" + c_->kernel_name() : "");
  }
  size_t packed_bytes() const override {
    return (a_ ? a_->packed_bytes() : 0) + b_->packed_bytes() + (c_ ? c_->packed_bytes() : 0);
  }
  size_t in_place_bytes() const override {
    return (a_ ? a_->in_place_bytes() : 0) + b_->in_place_bytes() + (c_ ? c_->in_place_bytes() : 0);
  }

 private:
  std::unique_ptr<Op> a_own_, b_own_, c_own_;
  const Conv2dOp* a_ = nullptr;
  const Conv2dOp* b_ = nullptr;
  const Conv2dOp* c_ = nullptr;
  const format::QuantParams* e_quant_;
  const format::QuantParams* d_quant_;
};

// A u8 -> u8 1x1 Conv2d that is its GEMM: what a fused block's expansion or projection may be.
bool plain_1x1_u8(const Conv2dOp* op) {
  return op && op->direct() && !op->dwq_ && !op->dwk_ && op->groups_.size() == 1 &&
         op->groups_[0].mode == LinearWeights::Mode::kStatic;
}
// A u8 depthwise Conv2d whose every output row reads an input row.
bool fusable_dw(const Conv2dOp* op) {
  if (!op || !op->dwq_) return false;
  const ConvGeom& g = op->g_;
  const int64_t ekh = (g.kh - 1) * g.dh + 1;
  return g.pt < ekh && g.pb < ekh;
}

}  // namespace

// Every such pair, whatever its size or recorded shape: the fused op is exact for any shape, and
// on MobileNetV2 fusing all 16 expansion/depthwise pairs measured equal at 1 thread and 9 %
// faster at 2 (0.90 -> 0.82 ms; only the 6 pairs with >= 128 KB expansions: 0.88 ms).
size_t fuse_expand_depthwise(format::ModelDef& def, std::vector<std::unique_ptr<Op>>& ops) {
  return fuse_pairs(def, ops, [&](size_t i, size_t j, int32_t t) -> std::unique_ptr<Op> {
    if (!fusable_dw(dynamic_cast<Conv2dOp*>(ops[j].get())) || !plain_1x1_u8(dynamic_cast<Conv2dOp*>(ops[i].get())))
      return nullptr;
    return std::make_unique<DwBlockOp>(std::move(ops[i]), std::move(ops[j]), nullptr, &def.tensors[t].quant, nullptr);
  });
}

size_t fuse_depthwise_project(format::ModelDef& def, std::vector<std::unique_ptr<Op>>& ops) {
  return fuse_pairs(def, ops, [&](size_t i, size_t j, int32_t t) -> std::unique_ptr<Op> {
    if (!plain_1x1_u8(dynamic_cast<Conv2dOp*>(ops[j].get()))) return nullptr;
    auto* blk = dynamic_cast<DwBlockOp*>(ops[i].get());
    if (!(blk ? !blk->projects() : fusable_dw(dynamic_cast<Conv2dOp*>(ops[i].get())))) return nullptr;
    return DwBlockOp::with_projection(std::move(ops[i]), std::move(ops[j]), &def.tensors[t].quant);
  });
}

void register_conv2d_op(OpRegistry& r) { r.add("Conv2d", Conv2dOp::create); }

}  // namespace qrt::rt
