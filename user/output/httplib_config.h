// Include cpp-httplib the way Debian built it. Debian ships httplib as a
// compiled library (-lcpp-httplib) built with OpenSSL, zlib and Brotli; the
// class layouts depend on these macros, so every file including httplib.h
// must define the same set (see cpp-httplib.pc's Cflags).
#pragma once

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <httplib.h>
