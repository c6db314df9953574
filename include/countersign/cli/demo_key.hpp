// The signing key of the demo tools (`countersign demo-idp`, `countersign
// token`): generated in memory, or kept in a private JWK file so that tokens
// minted offline and the demo IdP's JWKS agree across restarts.
//
// For trying the gateway out only. Production tokens come from a real
// identity provider.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <countersign/jose/alg.hpp>
#include <countersign/jose/jwk.hpp>

namespace countersign::cli {

/// A key, or a message that says what went wrong (with the file name).
struct demo_key_result {
    std::optional<jose::jwk> key;
    std::string error;      ///< set when `key` is empty
    bool created = false;   ///< a new key was generated (and saved, with a file)
    std::string warning;    ///< e.g. a key file readable by others
};

/// A fresh private key for `a` (RSA 2048 for RS/PS), with `alg` set and the
/// RFC 7638 thumbprint as `kid`. HS algorithms are refused: the demo tools
/// publish their public key.
demo_key_result generate_demo_key(jose::alg a);

/// Loads the private JWK in `path`. When the file does not exist, generates a
/// key for `a` and writes it there atomically (temp file 0600, fsync, rename).
/// A loaded key must be private and asymmetric and carry an `alg`; a missing
/// `kid` is filled with its thumbprint. A file that group or others may read
/// or write still loads, with a `warning`.
demo_key_result load_or_create_demo_key(const std::filesystem::path& path, jose::alg a);

/// Writes `key`'s private JWK to `path` atomically with mode 0600. Returns ""
/// or an error message.
std::string save_demo_key(const std::filesystem::path& path, const jose::jwk& key);

}  // namespace countersign::cli
