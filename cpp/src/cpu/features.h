// CPU feature detection and the QRT_ISA cap.
//
// Detection runs once per process (cpuid leaves 1, 7.0, 7.1 plus XGETBV: AVX and AVX-512 count only
// when the OS saves their registers). Kernel variants are tagged with an `Isa` level; a family's
// table lists its variants best first and `isa_enabled()` says which may run: the CPU supports
// the level, the level was compiled in, and it does not exceed the cap from QRT_ISA (or
// set_isa_cap()). The levels form one order so that a cap has a single meaning:
//   ref < avx2 < avxvnni < avx512 < avx512vnni < avx512bf16 < amx      (x86-64)
//   ref < neon < neondot                                         (aarch64)
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "qrt/status.h"

namespace qrt::cpu {

enum class Isa : int {
  kRef = 0,
  kAvx2 = 1,        // AVX2 + FMA + F16C
  kAvxVnni = 2,     // AVX2 + AVX-VNNI (vpdpbusd on ymm)
  kAvx512 = 3,      // AVX-512 F/BW/DQ/VL
  kAvx512Vnni = 4,  // AVX-512 + VNNI
  kAvx512Bf16 = 5,  // AVX-512 + VNNI + BF16 (vdpbf16ps)
  kNeon = 6,        // aarch64 baseline
  kNeonDot = 7,     // aarch64 + dot product (sdot/udot)
  kAmx = 8,         // AVX-512 BF16 level + AMX tiles (AMX-INT8, AMX-BF16), OS permission granted
};
constexpr int kNumIsas = 9;

struct Features {
  std::string vendor;
  bool sse41 = false, sse42 = false, avx = false, avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false;
  bool avx512vnni = false, avxvnni = false, avx512bf16 = false, avx512fp16 = false;
  bool amx_int8 = false, amx_bf16 = false, amx_tile = false;
  bool os_amx = false;  // XCR0 tile state enabled and the kernel granted XTILEDATA to this process
  bool os_avx = false, os_avx512 = false;  // XCR0 says the OS saves ymm / zmm+opmask state
  bool neon = false, neondot = false;
};

// Detected once per process, on first use. Under a hypervisor every cpuid instruction exits to it
// (~6 us each measured on a cloud VM), so features() executes only the leaves kernel selection
// needs (0, 1, 7.0, 7.1); what reports and thresholds need comes from the two functions below,
// each computed on its own first use.
const Features& features();
// The CPU's name (x86: cpuid 0x80000002-4, trimmed; "" elsewhere or when not reported).
const std::string& cpu_brand();
// Level-2 cache of one core in bytes as the system reports it, 0 when unknown: sysconf (glibc
// reads it from the cache info it gathered at start-up), else the cpuid cache leaves (Intel 4,
// AMD 0x8000001D or 0x80000006). Use l2_cache_bytes().
size_t detected_l2_bytes();
// The cpuid cache leaves' answer alone (x86; 0 elsewhere): the fallback above, exposed for tests.
size_t cpuid_l2_bytes();
// Per-core L2 size used by blocking and prefetch thresholds: detected_l2_bytes() when known and
// within [128 KiB, 64 MiB], else kL2Fallback. The fallback is small on purpose: taking B for
// L3-resident when it would have fit L2 costs 1-3 % (prefetches that hit), the opposite mistake
// 10-15 % (int8 GEMM, docs/KERNELS_INT8.md).
constexpr size_t kL2Fallback = size_t(1) << 20;
size_t l2_cache_bytes();
// Overrides l2_cache_bytes() for this process (tests: both sides of the thresholds on one
// machine); 0 restores the detected value.
void set_l2_cache_bytes(size_t bytes);
// Bytes of packed weights above which the int8 GEMM treats B as not L2-resident (next-panel
// prefetch on; Dense splits columns rather than rows): 3/4 of l2_cache_bytes(), leaving the rest
// for A, C and the other data of the call.
size_t l2_resident_limit();
// The cpuid cache leaves' L1 data cache size alone (x86; 0 elsewhere), exposed for tests.
size_t cpuid_l1d_bytes();
// Per-core L1 data cache size (sysconf, else cpuid) when within [8 KiB, 1 MiB], else
// kL1dFallback. The fp32 GEMM sizes its K blocks by it.
constexpr size_t kL1dFallback = size_t(32) << 10;
size_t l1d_cache_bytes();
const char* isa_name(Isa isa);
// Parses "ref", "avx2", ...; false for an unknown name.
bool parse_isa(const std::string& name, Isa* out);
// All level names of this architecture, lowest first ("ref, avx2, ...").
const std::vector<Isa>& arch_isas();
// The CPU (and OS) can execute this level's instructions.
bool isa_supported(Isa isa);
// The level's kernels were compiled into this build.
bool isa_compiled(Isa isa);
// The highest level allowed: min(best supported, cap). Reads QRT_ISA on first use.
Isa isa_cap();
// Status of the QRT_ISA environment variable: an unknown or unsupported value is an error that
// lists the valid names. Sessions call this so that a typo is never a silent fallback.
Status isa_env_status();
// Overrides the cap for this process (tests); an error if unknown or unsupported here.
Status set_isa_cap(const std::string& name);
bool isa_enabled(Isa isa);
// Position of a level in its architecture's order (ref = 0).
int isa_rank(Isa isa);

}  // namespace qrt::cpu
