// Micro-benchmarks of the JOSE module: parse+verify and sign of a typical JWT
// for every algorithm, next to a raw-OpenSSL baseline (the same operation
// `openssl speed` measures: sign/verify of a precomputed digest with a ready
// key), so the ratio "countersign / raw" can be read directly.
//
//   ./bench_jose --benchmark_filter='RS256|ES256|EdDSA'
//   openssl speed rsa2048 ecdsap256 ed25519      (same machine, for docs)

#include "countersign/jose/jose.hpp"

#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

using namespace countersign::jose;

namespace {

const std::string typical_claims =
    R"({"iss":"https://idp.example.com/","sub":"248289761001","aud":"api://orders","exp":1893456000,)"
    R"("iat":1700000000,"nbf":1700000000,"jti":"0f8c2a7e-5a41-4a9c-9d62-3b4f5b8e1c77",)"
    R"("scope":"orders:read orders:write","email":"jane.doe@example.com"})";

struct fixture {
    jwk key;
    jwk pub;
    std::string token;
};

const fixture& get(alg a, std::string_view okp = "Ed25519")
{
    static std::map<std::string, std::unique_ptr<fixture>> cache;
    const std::string id = std::string(to_string(a)) + std::string(okp);
    auto& slot = cache[id];
    if (!slot) {
        jwk key = jwk::generate(a, 2048, okp).value().with_kid("bench-key");
        jwk pub = key.is_symmetric() ? key : key.public_key().value();
        std::string token = sign_compact({{"typ", "JWT"}, {"kid", "bench-key"}}, typical_claims, a, key).value();
        slot = std::make_unique<fixture>(fixture{std::move(key), std::move(pub), std::move(token)});
    }
    return *slot;
}

void bm_parse_verify(benchmark::State& state, alg a, std::string_view okp)
{
    const fixture& f = get(a, okp);
    const alg allowed[] = {a};
    for (auto _ : state) {
        auto parsed = parse_compact(f.token);
        if (!parsed || verify_jws(*parsed, f.pub, allowed))
            state.SkipWithError("verification failed");
        benchmark::DoNotOptimize(parsed);
    }
    state.SetItemsProcessed(state.iterations());
}

void bm_sign(benchmark::State& state, alg a, std::string_view okp)
{
    const fixture& f = get(a, okp);
    const nlohmann::json header = {{"typ", "JWT"}, {"kid", "bench-key"}};
    for (auto _ : state) {
        auto token = sign_compact(header, typical_claims, a, f.key);
        if (!token)
            state.SkipWithError("sign failed");
        benchmark::DoNotOptimize(token);
    }
    state.SetItemsProcessed(state.iterations());
}

// verify_jws() on an already parsed token: the crypto layer alone.
void bm_verify_parsed(benchmark::State& state, alg a)
{
    const fixture& f = get(a);
    const alg allowed[] = {a};
    const auto parsed = parse_compact(f.token).value();
    for (auto _ : state) {
        if (verify_jws(parsed, f.pub, allowed))
            state.SkipWithError("verification failed");
    }
    state.SetItemsProcessed(state.iterations());
}

// sign() on a ready signing input: the crypto layer alone, without building
// the header and payload (tells the JWS framing cost apart).
void bm_sign_input(benchmark::State& state, alg a)
{
    const fixture& f = get(a);
    const std::string input = f.token.substr(0, f.token.rfind('.'));
    for (auto _ : state) {
        auto sig = sign(a, f.key, input);
        if (!sig)
            state.SkipWithError("sign failed");
        benchmark::DoNotOptimize(sig);
    }
    state.SetItemsProcessed(state.iterations());
}

void bm_parse_only(benchmark::State& state, alg a)
{
    const fixture& f = get(a);
    for (auto _ : state) {
        auto parsed = parse_compact(f.token);
        benchmark::DoNotOptimize(parsed);
    }
    state.SetItemsProcessed(state.iterations());
}

// Raw OpenSSL baseline, like `openssl speed`: EVP_PKEY_sign / EVP_PKEY_verify
// on a 32-byte digest (RSA, ECDSA) or one-shot EdDSA on a 32-byte message,
// with the context initialised once, outside the timed loop.
class raw_op {
public:
    raw_op(alg a, bool do_sign) : a_(a), sign_(do_sign)
    {
        const fixture& f = get(a);
        if (a == alg::eddsa) {
            // Ed25519 has no separate hash step. As `openssl speed ed25519` does,
            // each context is initialised once and used one-shot per message.
            sctx_ = EVP_MD_CTX_new();
            EVP_DigestSignInit(sctx_, nullptr, nullptr, nullptr, f.key.pkey());
            EVP_DigestSign(sctx_, sig_, &sig_len_, digest_, sizeof digest_);
            vctx_ = EVP_MD_CTX_new();
            EVP_DigestVerifyInit(vctx_, nullptr, nullptr, nullptr, f.pub.pkey());
        } else {
            spctx_ = EVP_PKEY_CTX_new(f.key.pkey(), nullptr);
            EVP_PKEY_sign_init(spctx_);
            if (a == alg::rs256)
                EVP_PKEY_CTX_set_rsa_padding(spctx_, RSA_PKCS1_PADDING);
            EVP_PKEY_sign(spctx_, sig_, &sig_len_, digest_, sizeof digest_);
            vpctx_ = EVP_PKEY_CTX_new(f.pub.pkey(), nullptr);
            EVP_PKEY_verify_init(vpctx_);
            if (a == alg::rs256)
                EVP_PKEY_CTX_set_rsa_padding(vpctx_, RSA_PKCS1_PADDING);
        }
    }
    raw_op(const raw_op&) = delete;
    raw_op& operator=(const raw_op&) = delete;
    ~raw_op()
    {
        EVP_MD_CTX_free(sctx_);
        EVP_MD_CTX_free(vctx_);
        EVP_PKEY_CTX_free(spctx_);
        EVP_PKEY_CTX_free(vpctx_);
    }

    bool run()
    {
        unsigned char out[512];
        std::size_t len = sizeof out;
        if (a_ == alg::eddsa)
            return sign_ ? EVP_DigestSign(sctx_, out, &len, digest_, sizeof digest_) == 1
                         : EVP_DigestVerify(vctx_, sig_, sig_len_, digest_, sizeof digest_) == 1;
        return sign_ ? EVP_PKEY_sign(spctx_, out, &len, digest_, sizeof digest_) == 1
                     : EVP_PKEY_verify(vpctx_, sig_, sig_len_, digest_, sizeof digest_) == 1;
    }

private:
    alg a_;
    bool sign_;
    const unsigned char digest_[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                       17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
    unsigned char sig_[512] = {};
    std::size_t sig_len_ = sizeof sig_;
    EVP_MD_CTX* sctx_ = nullptr;
    EVP_MD_CTX* vctx_ = nullptr;
    EVP_PKEY_CTX* spctx_ = nullptr;
    EVP_PKEY_CTX* vpctx_ = nullptr;
};

void bm_raw(benchmark::State& state, alg a, bool do_sign)
{
    raw_op op(a, do_sign);
    for (auto _ : state) {
        if (!op.run())
            state.SkipWithError("raw operation failed");
    }
    state.SetItemsProcessed(state.iterations());
}

// Paired measurement: each iteration runs countersign's operation (parse
// included for verify, header and encoding included for sign) and the raw
// OpenSSL operation back to back, timing each. Both see the same neighbours
// at the same moment, so the ratio of the two sums ("vs_raw", raw time /
// countersign time) is far steadier on a shared machine than the ratio of
// two separately run benchmarks. With `preparsed`, the verify side skips
// parsing (a token parsed once, before the loop): the difference to the
// plain paired ratio is what parsing costs.
void bm_paired(benchmark::State& state, alg a, bool do_sign, bool preparsed)
{
    using clock = std::chrono::steady_clock;
    const fixture& f = get(a);
    const alg allowed[] = {a};
    const nlohmann::json header = {{"typ", "JWT"}, {"kid", "bench-key"}};
    raw_op raw(a, do_sign);
    const auto parsed_once = parse_compact(f.token).value();
    clock::duration ours{}, theirs{};
    bool ours_first = true;
    for (auto _ : state) {
        // Alternate the order, so neither side always runs with warm caches.
        for (int turn = 0; turn < 2; ++turn) {
            const auto t0 = clock::now();
            if ((turn == 0) == ours_first) {
                if (do_sign) {
                    auto token = sign_compact(header, typical_claims, a, f.key);
                    if (!token)
                        state.SkipWithError("sign failed");
                    benchmark::DoNotOptimize(token);
                } else if (preparsed) {
                    if (verify_jws(parsed_once, f.pub, allowed))
                        state.SkipWithError("verification failed");
                } else {
                    auto parsed = parse_compact(f.token);
                    if (!parsed || verify_jws(*parsed, f.pub, allowed))
                        state.SkipWithError("verification failed");
                    benchmark::DoNotOptimize(parsed);
                }
                ours += clock::now() - t0;
            } else {
                if (!raw.run())
                    state.SkipWithError("raw operation failed");
                theirs += clock::now() - t0;
            }
        }
        ours_first = !ours_first;
    }
    state.counters["vs_raw"] = static_cast<double>(theirs.count()) / static_cast<double>(ours.count());
    state.counters["ours_per_sec"] = benchmark::Counter(static_cast<double>(state.iterations()) /
                                                        std::chrono::duration<double>(ours).count());
    state.counters["raw_per_sec"] = benchmark::Counter(static_cast<double>(state.iterations()) /
                                                       std::chrono::duration<double>(theirs).count());
}

struct named {
    alg a;
    const char* okp;
    const char* label;
};
const named all[] = {{alg::hs256, "", "HS256"}, {alg::hs384, "", "HS384"}, {alg::hs512, "", "HS512"},
                     {alg::rs256, "", "RS256"}, {alg::rs384, "", "RS384"}, {alg::rs512, "", "RS512"},
                     {alg::ps256, "", "PS256"}, {alg::ps384, "", "PS384"}, {alg::ps512, "", "PS512"},
                     {alg::es256, "", "ES256"}, {alg::es384, "", "ES384"}, {alg::es512, "", "ES512"},
                     {alg::eddsa, "Ed25519", "EdDSA-Ed25519"}, {alg::eddsa, "Ed448", "EdDSA-Ed448"}};

const bool registered = [] {
    for (const auto& n : all) {
        benchmark::RegisterBenchmark((std::string("parse_verify/") + n.label).c_str(), bm_parse_verify, n.a, n.okp);
        benchmark::RegisterBenchmark((std::string("sign_compact/") + n.label).c_str(), bm_sign, n.a, n.okp);
    }
    for (const auto& [a, label] : {std::pair{alg::rs256, "RS256"}, {alg::es256, "ES256"}, {alg::eddsa, "EdDSA-Ed25519"}}) {
        benchmark::RegisterBenchmark((std::string("openssl_raw_verify/") + label).c_str(), bm_raw, a, false);
        benchmark::RegisterBenchmark((std::string("openssl_raw_sign/") + label).c_str(), bm_raw, a, true);
        benchmark::RegisterBenchmark((std::string("paired_verify/") + label).c_str(), bm_paired, a, false, false);
        benchmark::RegisterBenchmark((std::string("paired_sign/") + label).c_str(), bm_paired, a, true, false);
        benchmark::RegisterBenchmark((std::string("paired_verify_preparsed/") + label).c_str(), bm_paired, a, false,
                                     true);
    }
    for (const auto& [a, label] : {std::pair{alg::rs256, "RS256"}, {alg::es256, "ES256"}})
    {
        benchmark::RegisterBenchmark((std::string("parse_compact_only/") + label).c_str(), bm_parse_only, a);
        benchmark::RegisterBenchmark((std::string("sign_input_only/") + label).c_str(), bm_sign_input, a);
        benchmark::RegisterBenchmark((std::string("verify_parsed_only/") + label).c_str(), bm_verify_parsed, a);
    }
    return true;
}();

} // namespace

BENCHMARK_MAIN();
