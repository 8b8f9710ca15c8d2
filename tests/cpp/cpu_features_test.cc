#include <cstdio>

#include "cpu/features.h"
#include "harness.h"

using namespace qrt::cpu;

QRT_TEST(Cpu, RefAlwaysEnabledAndNamesRoundTrip) {
  QRT_EXPECT(isa_supported(Isa::kRef));
  QRT_EXPECT(isa_enabled(Isa::kRef));
  for (Isa i : arch_isas()) {
    Isa back;
    QRT_EXPECT(parse_isa(isa_name(i), &back)) << isa_name(i);
    QRT_EXPECT(back == i) << isa_name(i);
  }
  Isa dummy;
  QRT_EXPECT(!parse_isa("avx9000", &dummy));
}

QRT_TEST(Cpu, CapRejectsUnknownAndOrdersLevels) {
  Isa before = isa_cap();
  qrt::Status st = set_isa_cap("sse9");
  QRT_EXPECT(!st.ok());
  QRT_EXPECT(st.message().find("valid: ref") != std::string::npos) << st.message();
  QRT_EXPECT(isa_cap() == before);
  QRT_EXPECT(set_isa_cap("ref").ok());
  for (Isa i : arch_isas()) QRT_EXPECT(isa_enabled(i) == (i == Isa::kRef)) << isa_name(i);
  QRT_EXPECT(set_isa_cap(isa_name(before)).ok());
}

QRT_TEST(Cpu, FeatureImplications) {
  const Features& f = features();
  if (f.avx512vnni) QRT_EXPECT(f.avx512f);
  if (f.avx2) QRT_EXPECT(f.avx && f.os_avx);
  if (f.avx512f) QRT_EXPECT(f.os_avx512);
}

// The per-core L2 size behind the int8 GEMM's prefetch / thread-split thresholds: on x86 Intel and
// AMD, CPUID must report it (leaf 4 / 0x8000001D / 0x80000006) and it must be a plausible size;
// elsewhere it may be unknown (0), and then the fallback is used. The override is for tests only.
QRT_TEST(Cpu, L2CacheSizeDetectedAndOverridable) {
  const Features& f = features();
  std::printf("    vendor %s: L2 %zu KiB detected, %zu KiB used, limit %zu KiB\n", f.vendor.c_str(),
              detected_l2_bytes() >> 10, l2_cache_bytes() >> 10, l2_resident_limit() >> 10);
#if defined(__x86_64__)
  if (f.vendor == "GenuineIntel" || f.vendor == "AuthenticAMD") {
    QRT_EXPECT(detected_l2_bytes() >= (size_t(128) << 10) && detected_l2_bytes() <= (size_t(64) << 20)) << detected_l2_bytes();
    QRT_EXPECT(detected_l2_bytes() % (size_t(64) << 10) == 0) << detected_l2_bytes();  // whole 64 KiB units
    QRT_EXPECT_EQ(l2_cache_bytes(), detected_l2_bytes());
    // The cpuid fallback (used when sysconf knows nothing) must work on its own too.
    std::printf("    cpuid cache leaves: L2 %zu KiB\n", cpuid_l2_bytes() >> 10);
    QRT_EXPECT(cpuid_l2_bytes() >= (size_t(128) << 10) && cpuid_l2_bytes() <= (size_t(64) << 20)) << cpuid_l2_bytes();
  }
#endif
  if (detected_l2_bytes() == 0) QRT_EXPECT_EQ(l2_cache_bytes(), kL2Fallback);
  QRT_EXPECT_EQ(l2_resident_limit(), l2_cache_bytes() / 4 * 3);
  const size_t detected = l2_cache_bytes();
  set_l2_cache_bytes(size_t(1) << 20);
  QRT_EXPECT_EQ(l2_cache_bytes(), size_t(1) << 20);
  QRT_EXPECT_EQ(l2_resident_limit(), size_t(768) << 10);
  set_l2_cache_bytes(0);
  QRT_EXPECT_EQ(l2_cache_bytes(), detected);
}

// The L1 data cache size behind the fp32 GEMM's K blocks: reported by cpuid on x86 Intel and AMD
// (leaf 4 / 0x8000001D / 0x80000005) in whole KiB; in range or the fallback everywhere.
QRT_TEST(Cpu, L1dCacheSizeDetected) {
  const Features& f = features();
  std::printf("    vendor %s: L1D %zu KiB used, cpuid %zu KiB\n", f.vendor.c_str(),
              l1d_cache_bytes() >> 10, cpuid_l1d_bytes() >> 10);
  QRT_EXPECT(l1d_cache_bytes() >= (size_t(8) << 10) && l1d_cache_bytes() <= (size_t(1) << 20));
  QRT_EXPECT(l1d_cache_bytes() % 1024 == 0) << l1d_cache_bytes();
#if defined(__x86_64__)
  if (f.vendor == "GenuineIntel" || f.vendor == "AuthenticAMD") {
    QRT_EXPECT(cpuid_l1d_bytes() >= (size_t(8) << 10) && cpuid_l1d_bytes() <= (size_t(1) << 20)) << cpuid_l1d_bytes();
  }
#endif
}
