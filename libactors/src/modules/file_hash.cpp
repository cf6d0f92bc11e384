#include "modules/file_hash.hpp"

#include <cerrno>
#include <cstring>
#include <memory>

#include <unistd.h>

#include <openssl/evp.h>

#include "actors/errc.hpp"

namespace actors::detail {

caf::expected<std::string> sha256_hex(int fd, const std::string& shown) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1)
    return make_error(errc::module_load_failed, "cannot hash module " + shown + ": SHA-256 is unavailable in libcrypto");
  char buf[1 << 16];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n == 0)
      break;
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return make_error(errc::module_not_found,
                        "cannot read module file " + shown + ": " + std::strerror(errno));
    }
    EVP_DigestUpdate(md.get(), buf, static_cast<std::size_t>(n));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(md.get(), digest, &len);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * len);
  for (unsigned i = 0; i < len; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xF];
  }
  return out;
}

} // namespace actors::detail
