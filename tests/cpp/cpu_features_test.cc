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
