// Option values that CLI11 would read too loosely, checked and normalized in place. Each
// function has the shape of a CLI11 validator: it returns an error message, empty when the
// value is good, and rewrites the text into the plain decimal form CLI11 then converts.
#pragma once

#include <string>

namespace tinydeploy::cli {

// A seed: a decimal integer from 0 to 2^64-1. CLI11 alone reads integers with strtoull, which
// takes -1 as 2^64-1, clamps out-of-range values to 2^64-1 and reads 010 as octal 8.
std::string check_seed(std::string& text);

// A size in bytes: a decimal integer with an optional binary unit K, M or G (also KiB, MiB,
// GiB, B; any case), at most 2^62 bytes; rewritten as plain bytes.
std::string check_byte_size(std::string& text);

// A simulated cache's geometry SIZE:WAYS:LINE in bytes, ways and bytes: LINE a power of two
// from 4 to 4096, WAYS from 1 to 64, SIZE a multiple of WAYS*LINE of at most 64 MiB.
std::string check_cache_geometry(std::string& text);

}  // namespace tinydeploy::cli
