// The doctest entry point shared by every test binary (unit and e2e).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "selftests/common/falco_files.h"

int main(int argc, char** argv) {
  // Say once why the cases that read the official Falco files are skipped.
  if (!pg::test::have_falco_files())
    std::fprintf(stderr,
                 "note: the official Falco rule files are not in %s; the tests that read them "
                 "are skipped (set FALCO_RULES=DIR to point at them)\n",
                 pg::test::falco_rules_dir().c_str());
  doctest::Context context(argc, argv);
  return context.run();
}
