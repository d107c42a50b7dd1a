#include "crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "otp/protocol/handshake.hpp"

namespace otp::protocol {

namespace detail {

std::optional<Mac> hmac_sha256(std::string_view key, std::span<const uint8_t> data) {
  Mac out{};
  unsigned int len = 0;
  // HMAC() wants a non-null key pointer even for an empty key.
  static const char kEmpty = 0;
  const void* key_ptr = key.empty() ? &kEmpty : key.data();
  if (HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()), data.data(), data.size(),
           out.data(), &len) == nullptr ||
      len != out.size()) {
    return std::nullopt;
  }
  return out;
}

bool macs_equal(const Mac& a, const Mac& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace detail

std::optional<Challenge> random_challenge() {
  Challenge c{};
  if (RAND_bytes(c.data(), static_cast<int>(c.size())) != 1) return std::nullopt;
  return c;
}

}  // namespace otp::protocol
