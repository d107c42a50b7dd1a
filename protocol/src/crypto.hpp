// The handshake's cryptography, on OpenSSL: HMAC-SHA256 and a constant-time MAC comparison.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "otp/protocol/handshake_messages.hpp"

namespace otp::protocol::detail {

/// nullopt when OpenSSL fails (it does not for SHA-256 unless the library is broken).
std::optional<Mac> hmac_sha256(std::string_view key, std::span<const uint8_t> data);

/// Compares in time independent of where the MACs differ (CRYPTO_memcmp).
bool macs_equal(const Mac& a, const Mac& b);

}  // namespace otp::protocol::detail
