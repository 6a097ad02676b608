// SPDX-License-Identifier: Apache-2.0
// Reads `objdump -d -C` of each object file given and fails if a ropekit
// function outside the per-unit namespaces (detail::tu_*) holds an AVX or
// AVX-512 instruction: the linker keeps one copy of such an inline function
// for every unit, so it must be the same baseline code in all of them.
// Functions of other libraries (std::, Eigen::) are listed, not failed: they
// follow their own rules (see the README's "Units with different flags").
//
// Usage: odr_symbol_check OBJDUMP OBJECT...
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

// VEX/EVEX-encoded instructions all have mnemonics starting with 'v'
// (vmovss, vaddps, vzeroupper, ...); no SSE2 one does, and AVX-512 opmask
// moves start with 'k'.
bool is_avx_mnemonic(const std::string& m) {
  return (!m.empty() && m[0] == 'v' && m != "verr" && m != "verw") ||
         (m.size() > 1 && m[0] == 'k' && (m.rfind("kmov", 0) == 0 || m.rfind("kor", 0) == 0 ||
                                          m.rfind("kand", 0) == 0 || m.rfind("kxor", 0) == 0));
}

bool is_per_unit(const std::string& symbol) { return symbol.find("::tu_") != std::string::npos; }

// The public aggregates (filled member by member or with designated
// initializers) cannot declare their special members without ceasing to be
// aggregates in C++20, so the compiler defines those where a unit uses them.
// They only copy or move their std::vector and scalar members: the same
// status as the std:: instantiations they call, and said so in the README.
bool is_aggregate_special_member(const std::string& symbol) {
  for (const char* aggregate :
       {"ropekit::v0::Frequencies::", "ropekit::v0::scaling::LongRope::Params::"}) {
    const std::string prefix = aggregate;
    if (symbol.rfind(prefix, 0) != 0) continue;
    const std::string rest = symbol.substr(prefix.size());
    const std::string name = prefix.substr(prefix.rfind("::", prefix.size() - 3) + 2);
    const std::string type = name.substr(0, name.size() - 2);
    if (rest.rfind(type + "(", 0) == 0 || rest.rfind("operator=(", 0) == 0 ||
        rest.rfind("~" + type + "(", 0) == 0)
      return true;
  }
  return false;
}
bool is_ropekit(const std::string& symbol) {
  // The function's own name, not a template argument: the part before '('
  // that does not sit inside <...>.
  int depth = 0;
  std::string outer;
  for (char c : symbol) {
    if (c == '(' && depth == 0) break;
    if (c == '<') ++depth;
    else if (c == '>') --depth;
    else if (depth == 0) outer += c;
  }
  return outer.find("ropekit::") != std::string::npos;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s OBJDUMP OBJECT...\n", argv[0]);
    return 2;
  }
  int failures = 0, ropekit_checked = 0, others = 0;
  for (int i = 2; i < argc; ++i) {
    const std::string command =
        std::string("'") + argv[1] + "' -d -C --no-show-raw-insn '" + argv[i] + "'";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
    if (!pipe) {
      std::fprintf(stderr, "cannot run %s\n", command.c_str());
      return 2;
    }
    std::string symbol, line;
    bool reported = false;
    char buffer[8192];
    int lines = 0;
    while (std::fgets(buffer, sizeof buffer, pipe.get()) != nullptr) {
      line = buffer;
      ++lines;
      // "0000000000000000 <name>:" opens a function.
      const std::size_t open = line.find(" <");
      if (!line.empty() && line[0] != ' ' && open != std::string::npos &&
          line.find(">:") != std::string::npos) {
        symbol = line.substr(open + 2, line.rfind(">:") - open - 2);
        reported = false;
        if (is_ropekit(symbol) && !is_per_unit(symbol)) ++ropekit_checked;
        continue;
      }
      // "   1c:\tvmovss ..." is an instruction.
      const std::size_t tab = line.find(":\t");
      if (tab == std::string::npos || reported) continue;
      std::size_t start = tab + 2, end = start;
      while (end < line.size() && line[end] != ' ' && line[end] != '\t' && line[end] != '\n') ++end;
      const std::string mnemonic = line.substr(start, end - start);
      if (!is_avx_mnemonic(mnemonic)) continue;
      reported = true;
      if (is_ropekit(symbol) && !is_per_unit(symbol) && !is_aggregate_special_member(symbol)) {
        std::printf("FAIL %s: %s in %s\n", argv[i], mnemonic.c_str(), symbol.c_str());
        ++failures;
      } else if (!is_per_unit(symbol) && !is_ropekit(symbol)) {
        ++others;
      }
    }
    if (lines == 0) {
      std::fprintf(stderr, "no disassembly from %s\n", command.c_str());
      return 2;
    }
  }
  std::printf("%d ropekit functions outside the per-unit namespaces checked, %d with AVX; "
              "%d functions of other code (std::, Eigen::, the units' own) with AVX\n",
              ropekit_checked, failures, others);
  if (ropekit_checked == 0) {
    std::printf("FAIL: no ropekit function found; the check saw nothing\n");
    return 1;
  }
  return failures == 0 ? 0 : 1;
}
