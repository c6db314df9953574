#include "support/tls_files.hpp"

#include <cstdio>
#include <memory>
#include <stdexcept>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace countersign::test {

namespace {

struct evp_pkey_free {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_free {
    void operator()(X509* p) const { X509_free(p); }
};
struct file_close {
    void operator()(FILE* f) const { std::fclose(f); }
};

[[noreturn]] void fail(const std::string& what)
{
    throw std::runtime_error("make_self_signed_cert: " + what);
}

void add_ext(X509* cert, int nid, const std::string& value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr)
        fail("bad extension " + value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

}  // namespace

tls_certificate make_self_signed_cert(const std::filesystem::path& dir, const std::string& common_name,
                                      const std::string& stem)
{
    std::unique_ptr<EVP_PKEY, evp_pkey_free> key(EVP_EC_gen("P-256"));
    if (!key)
        fail("key generation failed");
    std::unique_ptr<X509, x509_free> cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                               -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    add_ext(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    std::string san = "DNS:" + common_name;
    if (common_name != "localhost")
        san += ",DNS:localhost";
    san += ",IP:127.0.0.1";
    add_ext(cert.get(), NID_subject_alt_name, san);
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
        fail("signing failed");

    std::filesystem::create_directories(dir);
    tls_certificate out{dir / (stem + ".crt"), dir / (stem + ".key")};
    std::unique_ptr<FILE, file_close> cf(std::fopen(out.cert.c_str(), "w"));
    std::unique_ptr<FILE, file_close> kf(std::fopen(out.key.c_str(), "w"));
    if (!cf || !kf)
        fail("cannot write into " + dir.string());
    if (PEM_write_X509(cf.get(), cert.get()) != 1 ||
        PEM_write_PrivateKey(kf.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        fail("PEM write failed");
    return out;
}

}  // namespace countersign::test
