// The doctest entry point shared by every test binary (unit and e2e).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
