// Throw-away TLS material for tests: a self-signed certificate and its key,
// written as PEM files.
#pragma once

#include <filesystem>
#include <string>

namespace countersign::test {

struct tls_certificate {
    std::filesystem::path cert;  ///< PEM certificate (also usable as the CA file)
    std::filesystem::path key;   ///< PEM private key (P-256)
};

/// Writes `<stem>.crt` and `<stem>.key` into `dir`: a self-signed P-256
/// certificate for `common_name`, with subjectAltName DNS:<common_name>,
/// DNS:localhost and IP:127.0.0.1, valid for a day. Throws on failure.
tls_certificate make_self_signed_cert(const std::filesystem::path& dir, const std::string& common_name = "localhost",
                                      const std::string& stem = "server");

}  // namespace countersign::test
