// SPDX-License-Identifier: Apache-2.0
// What a benchmark result depends on besides the code: the CPU, the compiler
// and its flags, and the kernel path ropekit takes. Recorded in the JSON
// context and printed at the top of the summary, so that no number can be
// read without the machine and path it came from (machines running these
// benchmarks differ: some have AVX-512, some only AVX2).
#ifndef ROPEKIT_BENCH_RUN_CONTEXT_HPP
#define ROPEKIT_BENCH_RUN_CONTEXT_HPP

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <ropekit/ropekit.hpp>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

// ropekit's internal macros (kernel paths, target regions) for this file.
#include <ropekit/detail/macros_begin.inl>

// Set by bench/CMakeLists.txt; empty when built some other way.
#ifndef ROPEKIT_BENCH_BUILD_TYPE
#define ROPEKIT_BENCH_BUILD_TYPE ""
#endif
#ifndef ROPEKIT_BENCH_CXX_FLAGS
#define ROPEKIT_BENCH_CXX_FLAGS ""
#endif

namespace bench {

// Value of the first "key : value" line of /proc/cpuinfo with this key.
inline std::string cpuinfo_field(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
    if (name != key) continue;
    std::string value = line.substr(colon + 1);
    const auto first = value.find_first_not_of(" \t");
    return first == std::string::npos ? std::string() : value.substr(first);
  }
  return {};
}

// The CPUID brand string, for systems without /proc/cpuinfo.
inline std::string cpuid_brand() {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  unsigned regs[12] = {};
  // Clang declares the result int, GCC unsigned.
  if (static_cast<unsigned>(__get_cpuid_max(0x80000000u, nullptr)) < 0x80000004u) return {};
  for (unsigned leaf = 0; leaf < 3; ++leaf)
    __get_cpuid(0x80000002u + leaf, &regs[4 * leaf], &regs[4 * leaf + 1], &regs[4 * leaf + 2],
                &regs[4 * leaf + 3]);
  char text[sizeof regs + 1] = {};
  std::memcpy(text, regs, sizeof regs);
  std::string brand(text);
  const auto first = brand.find_first_not_of(' ');
  return first == std::string::npos ? std::string() : brand.substr(first);
#else
  return {};
#endif
}

// Only the fields of the architecture this unit targets are read: under
// qemu-user, /proc/cpuinfo describes the host, not the emulated CPU.
#if defined(__x86_64__) || defined(__i386__)
#define ROPEKIT_BENCH_CPUINFO_X86 1
#else
#define ROPEKIT_BENCH_CPUINFO_X86 0
#endif

// Virtual machines often report a generic brand ("Intel Xeon Processor"), so
// the signature (vendor, family, model) goes with it.
inline std::string cpu_model() {
#if ROPEKIT_BENCH_CPUINFO_X86
  std::string model = cpuinfo_field("model name");
  if (model.empty()) model = cpuid_brand();
#else
  const std::string implementer = cpuinfo_field("CPU implementer"), part = cpuinfo_field("CPU part");
  const std::string model =
      implementer.empty() ? std::string() : "implementer " + implementer + " part " + part;
#endif
  return model.empty() ? "unknown" : model;
}

inline std::string cpu_signature() {
#if ROPEKIT_BENCH_CPUINFO_X86
  const std::string vendor = cpuinfo_field("vendor_id"), family = cpuinfo_field("cpu family");
  if (vendor.empty() || family.empty()) return "unknown";
  return vendor + " family " + family + " model " + cpuinfo_field("model") + " stepping " +
         cpuinfo_field("stepping");
#else
  const std::string variant = cpuinfo_field("CPU variant"), revision = cpuinfo_field("CPU revision");
  return variant.empty() ? "unknown" : "variant " + variant + " revision " + revision;
#endif
}

// The CPU features that decide which ropekit paths can run, as the kernel
// reports them.
inline std::string cpu_isa_features() {
#if ROPEKIT_BENCH_CPUINFO_X86
  const std::string flags = cpuinfo_field("flags");
  static const char* const relevant[] = {"avx2",     "fma",      "f16c",     "avx512f",     "avx512dq",
                                         "avx512bw", "avx512vl", "avx512_bf16", "avx512_fp16"};
#else
  const std::string flags = cpuinfo_field("Features");
  static const char* const relevant[] = {"asimd", "fphp", "asimdhp", "bf16", "sve"};
#endif
  std::istringstream words(flags);
  std::vector<std::string> present;
  for (std::string word; words >> word;) present.push_back(word);
  std::string out;
  for (const char* name : relevant)  // a fixed order, whatever the kernel's
    for (const std::string& word : present)
      if (word == name) {
        out += (out.empty() ? "" : " ") + word;
        break;
      }
  return out.empty() ? "none reported" : out;
}

inline std::string compiler() {
#if defined(__clang__)
  std::string name = std::string("Clang ") + __clang_version__;
#elif defined(__GNUC__)
  std::string name = std::string("GCC ") + __VERSION__;
#elif defined(_MSC_VER)
  std::string name = "MSVC " + std::to_string(_MSC_FULL_VER);
#else
  std::string name = "unknown";
#endif
  while (!name.empty() && name.back() == ' ') name.pop_back();  // Clang's version ends in one
  return name;
}

// Flags as CMake passed them, plus what the predefined macros say about the
// unit (its own vector ISA is what naive_loop and eigen_array compile for).
inline std::string build_flags() {
  std::string flags = ROPEKIT_BENCH_CXX_FLAGS;
  while (!flags.empty() && flags.front() == ' ') flags.erase(0, 1);
  while (!flags.empty() && flags.back() == ' ') flags.pop_back();
  std::string build_type = ROPEKIT_BENCH_BUILD_TYPE;
  if (!build_type.empty()) flags = "CMAKE_BUILD_TYPE=" + build_type + (flags.empty() ? "" : " ") + flags;
  return flags.empty() ? "unknown" : flags;
}

inline std::string unit_isa() {
#if defined(__AVX512F__)
  return "avx512 (-march allows it)";
#elif defined(__AVX2__)
  return "avx2 (-march allows it)";
#elif defined(__aarch64__)
  return "aarch64 (neon)";
#elif defined(__x86_64__)
  return "x86-64 baseline (sse2)";
#else
  return "baseline";
#endif
}

inline std::string dispatch_mode() {
#if ROPEKIT_USE_DYNAMIC_DISPATCH
  return "runtime (ROPEKIT_DYNAMIC_DISPATCH)";
#else
  return "compile time";
#endif
}

inline std::string isa_list(const std::vector<ropekit::Isa>& isas) {
  std::string out;
  for (ropekit::Isa isa : isas) out += (out.empty() ? "" : " ") + std::string(ropekit::isa_name(isa));
  return out;
}

inline std::string forced_path() {
  ropekit::Isa forced = ropekit::Isa::scalar;
  return ropekit::forced_isa(&forced) ? std::string(ropekit::isa_name(forced)) : std::string("no");
}

// Every field, in the order the summary prints them. The path is the one
// calls take now: the forced one (ROPEKIT_FORCE_ISA), else the best this
// CPU and build allow. Throws when a forced path cannot run here.
inline std::vector<std::pair<std::string, std::string>> run_context() {
  return {
      {"cpu_model", cpu_model()},
      {"cpu_signature", cpu_signature()},
      {"cpu_isa_features", cpu_isa_features()},
      {"compiler", compiler()},
      {"build_flags", build_flags()},
      {"unit_isa", unit_isa()},
      {"ropekit_dispatch", dispatch_mode()},
      {"ropekit_isa", ropekit::isa_name(ropekit::active_isa())},
      {"ropekit_isa_forced", forced_path()},
      {"ropekit_isas_available", isa_list(ropekit::available_isas())},
  };
}

}  // namespace bench


#include <ropekit/detail/macros_end.inl>

#endif  // ROPEKIT_BENCH_RUN_CONTEXT_HPP
