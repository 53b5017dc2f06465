// SHA-256 (FIPS 180-4) of a byte string, as 64 lowercase hex digits. Used to stamp generated
// packages with the model they came from.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace tinydeploy {

std::string sha256_hex(std::span<const uint8_t> bytes);

}  // namespace tinydeploy
