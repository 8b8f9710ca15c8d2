#include "cpu/features.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#if defined(__linux__)
#include <unistd.h>
#endif

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#define QRT_X86 1
#elif defined(__aarch64__)
#include <sys/auxv.h>
#define QRT_ARM64 1
#endif

namespace qrt::cpu {
namespace {

#if QRT_X86
void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
  __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
}
// XGETBV is encoded by hand so that this file needs no -mxsave (it must build for baseline x86-64).
unsigned long long xgetbv0() {
  unsigned lo, hi;
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}

// Deterministic cache parameters (Intel leaf 4, AMD leaf 0x8000001D: same register layout).
// Returns the size of the first data or unified cache of that level, 0 if none is listed.
size_t cache_from_leaf(unsigned leaf, unsigned want_level) {
  unsigned r[4];
  for (unsigned sub = 0; sub < 16; ++sub) {
    cpuid(leaf, sub, r);
    const unsigned type = r[0] & 0x1f, level = (r[0] >> 5) & 0x7;
    if (type == 0) break;  // no more caches
    if (level != want_level || (type != 1 && type != 3)) continue;
    const size_t ways = ((r[1] >> 22) & 0x3ff) + 1, parts = ((r[1] >> 12) & 0x3ff) + 1;
    const size_t line = (r[1] & 0xfff) + 1, sets = static_cast<size_t>(r[2]) + 1;
    return ways * parts * line * sets;
  }
  return 0;
}

// Size of the level-1 data or level-2 cache (level 1 or 2), 0 if the CPU does not say.
size_t detect_cache(const std::string& vendor, unsigned max_leaf, unsigned level) {
  unsigned r[4];
  cpuid(0x80000000u, 0, r);
  const unsigned max_ext = r[0];
  size_t bytes = 0;
  if (vendor == "GenuineIntel" && max_leaf >= 4) bytes = cache_from_leaf(4, level);
  if (vendor == "AuthenticAMD" || vendor == "HygonGenuine") {
    bool topoext = false;
    if (max_ext >= 0x80000001u) {
      cpuid(0x80000001u, 0, r);
      topoext = r[2] & (1u << 22);
    }
    if (topoext && max_ext >= 0x8000001Du) bytes = cache_from_leaf(0x8000001Du, level);
    // Legacy leaves: 0x80000005 ECX[31:24] = L1D KiB, 0x80000006 ECX[31:16] = L2 KiB.
    const unsigned legacy = level == 1 ? 0x80000005u : 0x80000006u;
    if (!bytes && max_ext >= legacy) {
      cpuid(legacy, 0, r);
      bytes = static_cast<size_t>(level == 1 ? r[2] >> 24 : r[2] >> 16) << 10;
    }
  }
  return bytes;
}
#endif

Features detect() {
  Features f;
#if QRT_X86
  unsigned r[4];
  cpuid(0, 0, r);
  unsigned max_leaf = r[0];
  char vendor[13] = {};
  std::memcpy(vendor, &r[1], 4);
  std::memcpy(vendor + 4, &r[3], 4);
  std::memcpy(vendor + 8, &r[2], 4);
  f.vendor = vendor;
  cpuid(1, 0, r);
  f.sse41 = r[2] & (1u << 19);
  f.sse42 = r[2] & (1u << 20);
  f.fma = r[2] & (1u << 12);
  f.f16c = r[2] & (1u << 29);
  bool osxsave = r[2] & (1u << 27);
  bool avx_bit = r[2] & (1u << 28);
  if (osxsave) {
    unsigned long long xcr0 = xgetbv0();
    f.os_avx = (xcr0 & 0x6) == 0x6;            // SSE + AVX state
    f.os_avx512 = (xcr0 & 0xe6) == 0xe6;       // + opmask, ZMM_Hi256, Hi16_ZMM
  }
  f.avx = avx_bit && f.os_avx;
  if (!f.avx) f.fma = f.f16c = false;
  if (max_leaf >= 7) {
    cpuid(7, 0, r);
    unsigned max_sub = r[0];
    f.avx2 = f.avx && (r[1] & (1u << 5));
    bool os512 = f.os_avx512;
    f.avx512f = os512 && (r[1] & (1u << 16));
    f.avx512dq = os512 && (r[1] & (1u << 17));
    f.avx512bw = os512 && (r[1] & (1u << 30));
    f.avx512vl = os512 && (r[1] & (1u << 31));
    f.avx512vnni = os512 && (r[2] & (1u << 11));
    f.avx512fp16 = os512 && (r[3] & (1u << 23));
    f.amx_bf16 = r[3] & (1u << 22);
    f.amx_tile = r[3] & (1u << 24);
    f.amx_int8 = r[3] & (1u << 25);
    if (max_sub >= 1) {
      cpuid(7, 1, r);
      f.avxvnni = f.avx2 && (r[0] & (1u << 4));
      f.avx512bf16 = os512 && (r[0] & (1u << 5));
    }
  }
  if (f.amx_tile && osxsave && (xgetbv0() & 0x60000) == 0x60000) {
    // Linux hands out the 8 KiB tile state only on request (arch_prctl ARCH_REQ_XCOMP_PERM for
    // XFEATURE_XTILEDATA = 18); without it the first tile instruction faults.
#if defined(__linux__)
    f.os_amx = syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18) == 0;
#endif
  }
#elif QRT_ARM64
  f.vendor = "arm";
  f.neon = true;
  unsigned long hw = getauxval(AT_HWCAP);
  f.neondot = hw & (1ul << 20);  // HWCAP_ASIMDDP
#endif
  return f;
}

}  // namespace

size_t cpuid_l2_bytes() {
#if QRT_X86
  unsigned r[4];
  cpuid(0, 0, r);
  return detect_cache(features().vendor, r[0], 2);
#else
  return 0;
#endif
}

size_t cpuid_l1d_bytes() {
#if QRT_X86
  unsigned r[4];
  cpuid(0, 0, r);
  return detect_cache(features().vendor, r[0], 1);
#else
  return 0;
#endif
}

namespace {

std::string detect_brand() {
  std::string b;
#if QRT_X86
  unsigned r[4];
  cpuid(0x80000000u, 0, r);
  if (r[0] >= 0x80000004u) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      cpuid(0x80000002u + i, 0, r);
      std::memcpy(brand + 16 * i, r, 16);
    }
    b = brand;
    while (!b.empty() && b.back() == ' ') b.pop_back();
    const size_t s = b.find_first_not_of(' ');
    b = s == std::string::npos ? "" : b.substr(s);
  }
#endif
  return b;
}

// sysconf's answer (glibc reads cpuid or sysfs), else the cpuid cache leaves; 0 if neither knows.
[[maybe_unused]] size_t sysconf_or(int name, size_t (*fallback)()) {
  long v = -1;
#if defined(__linux__)
  v = sysconf(name);
#else
  (void)name;
#endif
  return v > 0 ? static_cast<size_t>(v) : fallback();
}

#if defined(__linux__) && defined(_SC_LEVEL2_CACHE_SIZE)
size_t detect_l2_bytes() { return sysconf_or(_SC_LEVEL2_CACHE_SIZE, cpuid_l2_bytes); }
#else
size_t detect_l2_bytes() { return cpuid_l2_bytes(); }
#endif
#if defined(__linux__) && defined(_SC_LEVEL1_DCACHE_SIZE)
size_t detect_l1d_bytes() { return sysconf_or(_SC_LEVEL1_DCACHE_SIZE, cpuid_l1d_bytes); }
#else
size_t detect_l1d_bytes() { return cpuid_l1d_bytes(); }
#endif

struct CapState {
  std::once_flag once;
  std::atomic<int> cap{0};
  Status env_status;
};
CapState& cap_state();

constexpr const char* kNames[kNumIsas] = {"ref",        "avx2",       "avxvnni", "avx512", "avx512vnni",
                                          "avx512bf16", "neon",       "neondot", "amx"};

Isa best_supported() {
  Isa best = Isa::kRef;
  for (Isa i : arch_isas())
    if (isa_supported(i) && isa_compiled(i)) best = i;
  return best;
}

std::string names_list(bool supported_only) {
  std::string s;
  for (Isa i : arch_isas()) {
    if (supported_only && !(isa_supported(i) && isa_compiled(i))) continue;
    if (!s.empty()) s += ", ";
    s += isa_name(i);
  }
  return s;
}

Status check_name(const std::string& name, Isa* out, const char* origin) {
  Isa isa;
  if (!parse_isa(name, &isa)) {
    return InvalidArgument(std::string(origin) + "='" + name + "' is not a known ISA level; valid: " +
                           names_list(false) + " (this CPU runs: " + names_list(true) + ")");
  }
  if (!isa_supported(isa) || !isa_compiled(isa)) {
    return InvalidArgument(std::string(origin) + "='" + name + "' is not available " +
                           (isa_supported(isa) ? "in this build" : "on this CPU") +
                           "; this CPU runs: " + names_list(true));
  }
  *out = isa;
  return OkStatus();
}

CapState& cap_state() {
  static CapState s;
  std::call_once(s.once, [] {
    Isa cap = best_supported();
    if (const char* env = std::getenv("QRT_ISA"); env && *env) {
      Isa parsed;
      s.env_status = check_name(env, &parsed, "QRT_ISA");
      if (s.env_status.ok()) cap = parsed;
    }
    s.cap.store(static_cast<int>(cap));
  });
  return s;
}

}  // namespace

const Features& features() {
  static const Features f = detect();
  return f;
}
const std::string& cpu_brand() {
  static const std::string b = detect_brand();
  return b;
}

size_t detected_l2_bytes() {
  static const size_t l2 = detect_l2_bytes();
  return l2;
}

namespace {
std::atomic<size_t> g_l2_override{0};  // set_l2_cache_bytes()
}  // namespace

size_t l2_cache_bytes() {
  if (const size_t o = g_l2_override.load(std::memory_order_relaxed)) return o;
  const size_t l2 = detected_l2_bytes();
  return l2 >= (size_t(128) << 10) && l2 <= (size_t(64) << 20) ? l2 : kL2Fallback;
}

void set_l2_cache_bytes(size_t bytes) { g_l2_override.store(bytes, std::memory_order_relaxed); }

size_t l2_resident_limit() { return l2_cache_bytes() / 4 * 3; }

size_t l1d_cache_bytes() {
  static const size_t l1 = detect_l1d_bytes();
  return l1 >= (size_t(8) << 10) && l1 <= (size_t(1) << 20) ? l1 : kL1dFallback;
}

const char* isa_name(Isa isa) {
  int i = static_cast<int>(isa);
  return (i >= 0 && i < kNumIsas) ? kNames[i] : "unknown";
}

bool parse_isa(const std::string& name, Isa* out) {
  for (Isa i : arch_isas()) {
    if (name == kNames[static_cast<int>(i)]) {
      *out = i;
      return true;
    }
  }
  return false;
}

// A static list: kernel selection asks for ranks once per op at load (hundreds of calls).
const std::vector<Isa>& arch_isas() {
#if QRT_X86
  static const std::vector<Isa> kIsas = {Isa::kRef,        Isa::kAvx2,       Isa::kAvxVnni, Isa::kAvx512,
                                         Isa::kAvx512Vnni, Isa::kAvx512Bf16, Isa::kAmx};
#elif QRT_ARM64
  static const std::vector<Isa> kIsas = {Isa::kRef, Isa::kNeon, Isa::kNeonDot};
#else
  static const std::vector<Isa> kIsas = {Isa::kRef};
#endif
  return kIsas;
}

bool isa_supported(Isa isa) {
  const Features& f = features();
  bool avx512 = f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl && f.fma && f.f16c;
  bool avx2 = f.avx2 && f.fma && f.f16c;
  switch (isa) {
    case Isa::kRef: return true;
    case Isa::kAvx2: return avx2;
    case Isa::kAvxVnni: return avx2 && f.avxvnni;
    case Isa::kAvx512: return avx512;
    case Isa::kAvx512Vnni: return avx512 && f.avx512vnni;
    case Isa::kAvx512Bf16: return avx512 && f.avx512vnni && f.avx512bf16;
    case Isa::kNeon: return f.neon;
    case Isa::kNeonDot: return f.neondot;
    case Isa::kAmx: return avx512 && f.avx512vnni && f.avx512bf16 && f.amx_tile && f.amx_int8 &&
                           f.amx_bf16 && f.os_amx;
  }
  return false;
}

bool isa_compiled(Isa isa) {
  switch (isa) {
    case Isa::kRef: return true;
#if QRT_X86
    // The ISA libraries are built from every *_<isa>.cc present; a level whose folder has no file
    // yet still counts as compiled (its families simply fall back to the next level down).
    case Isa::kAvx2:
    case Isa::kAvxVnni:
    case Isa::kAvx512:
    case Isa::kAvx512Vnni:
    case Isa::kAvx512Bf16:
    case Isa::kAmx: return true;
#endif
#if QRT_ARM64
    case Isa::kNeon:
    case Isa::kNeonDot: return true;
#endif
    default: return false;
  }
}

Isa isa_cap() { return static_cast<Isa>(cap_state().cap.load(std::memory_order_relaxed)); }

Status isa_env_status() { return cap_state().env_status; }

Status set_isa_cap(const std::string& name) {
  CapState& s = cap_state();
  Isa isa;
  QRT_RETURN_IF_ERROR(check_name(name, &isa, "ISA cap"));
  s.cap.store(static_cast<int>(isa));
  return OkStatus();
}

int isa_rank(Isa isa) {
  const std::vector<Isa>& order = arch_isas();
  for (size_t i = 0; i < order.size(); ++i)
    if (order[i] == isa) return static_cast<int>(i);
  return -1;  // not a level of this architecture
}

bool isa_enabled(Isa isa) {
  int r = isa_rank(isa);
  return r >= 0 && isa_supported(isa) && isa_compiled(isa) && r <= isa_rank(isa_cap());
}

}  // namespace qrt::cpu
