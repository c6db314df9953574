#pragma once
// Helpers shared by the JOSE tests (header only; not a test translation unit).

#include "countersign/jose/jose.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

namespace jose_test {

inline std::string shared_dir() { return COUNTERSIGN_SHARED_DIR; }

inline std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot open " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline nlohmann::json read_json(const std::string& relative_to_shared)
{
    return nlohmann::json::parse(read_file(shared_dir() + "/" + relative_to_shared));
}

inline std::string unhex(const std::string& hex)
{
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    return out;
}

inline countersign::jose::jwk key_or_throw(const nlohmann::json& j, const countersign::jose::key_policy& p = {})
{
    auto k = countersign::jose::jwk::from_json(j, p);
    if (!k)
        throw std::runtime_error("key import failed: " + k.error().message() + " for " + j.dump());
    return *k;
}

// Keys are slow to generate (RSA); tests share one per algorithm.
inline const countersign::jose::jwk& test_key(countersign::jose::alg a, std::string_view okp = "Ed25519")
{
    using namespace countersign::jose;
    static std::map<std::string, std::shared_ptr<jwk>> cache;
    static std::shared_ptr<jwk> rsa;
    std::string id = std::string(to_string(a)) + std::string(okp);
    auto it = cache.find(id);
    if (it != cache.end())
        return *it->second;
    std::shared_ptr<jwk> k;
    if (kty_for(a) == "RSA") {
        if (!rsa)
            rsa = std::make_shared<jwk>(jwk::generate(alg::rs256).value());
        auto j = rsa->to_private_json();
        j.erase("alg");  // one RSA key serves all RS* and PS* tests
        k = std::make_shared<jwk>(jwk::from_json(j).value());
    } else {
        k = std::make_shared<jwk>(jwk::generate(a, 2048, okp).value());
    }
    cache.emplace(id, k);
    return *k;
}

} // namespace jose_test

namespace Catch {
// Boost's operator<< for result<T> is unconstrained and breaks Catch's
// stringification of results whose T is not streamable.
template <class T>
struct StringMaker<boost::system::result<T>> {
    static std::string convert(const boost::system::result<T>& r)
    {
        return r ? std::string("result(value)") : "result(error: " + r.error().message() + ")";
    }
};
} // namespace Catch
