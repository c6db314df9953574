#pragma once
// Persistent storage of signing keysets, behind a small interface so that a
// shared database backend can replace the file backend (many nodes signing
// with the same keys). The store deals in plain records holding private JWKs
// as JSON; turning them into usable keys is keyset's job.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace countersign::jwt_signer {

/// Error codes of key storage, keysets and token minting.
enum class keys_errc {
    io_error = 1,          ///< read/write/fsync/rename failed
    corrupt,               ///< stored record unreadable: bad JSON, missing field, checksum, key import
    insecure_permissions,  ///< key directory/file group- or world-accessible, wrong owner, symlink
    not_found,             ///< no keyset of that name/id
    invalid_name,          ///< empty or oversized keyset name
    invalid_keyset,        ///< a supplied JWKS is unusable (not private, no alg, duplicate kid, ...)
    no_key_for_alg,        ///< the keyset has no current key for the requested algorithm
    generation_failed,     ///< key generation failed (OpenSSL)
    unsupported_operation, ///< e.g. generating a new generation for a URL keyset
    invalid_claims,        ///< claims not an object, or not transformable (e.g. non-numeric exp)
    signing_failed,        ///< the JOSE layer refused to sign
};

const boost::system::error_category& keys_category() noexcept;
boost::system::error_code make_error_code(keys_errc e) noexcept;

/// An expected failure with a human-readable explanation (which file, why).
/// Start-up code prints `message`; request code maps `code`.
struct keys_failure {
    boost::system::error_code code;
    std::string message;
};

/// Thrown by `keys_result<T>::value()` on an error.
class keys_exception : public std::system_error {
public:
    explicit keys_exception(const keys_failure& f) : std::system_error(f.code, f.message) {}
};

/// Lets boost::system::result<T, keys_failure>::value() throw keys_exception.
[[noreturn]] void throw_exception_from_error(const keys_failure& f, const boost::source_location& loc);

template <class T>
using keys_result = boost::system::result<T, keys_failure>;

inline keys_failure make_failure(keys_errc e, std::string message)
{
    return keys_failure{make_error_code(e), std::move(message)};
}

/// One stored keyset. `current` and `previous` are arrays of private JWK
/// objects (the on-disk/DB form); `previous` is the one older generation kept
/// for verification. For URL keysets `source_url` is the JWKS URL (also the name).
struct keyset_record {
    std::string name;                  ///< unique; a plain name ("kong") or a URL
    std::string id;                    ///< stable UUID (v4), assigned at creation
    std::int64_t created_at = 0;       ///< unix seconds, keyset creation
    std::int64_t updated_at = 0;       ///< unix seconds, when the current generation was installed
    std::uint64_t generation = 0;      ///< 1 for the first generation, +1 per rotation
    nlohmann::json current = nlohmann::json::array();
    nlohmann::json previous = nlohmann::json::array();
    std::string source_url;            ///< empty for generated keysets
    /// Where the record came from (file path, DB row), for error messages only;
    /// filled in by the loader, never persisted.
    std::string origin;
};

/// Storage backend. Implementations must make `store` atomic (a reader or a
/// crash sees the old or the new record, never a mix) and durable before it
/// returns. Thread-safe.
class keystore {
public:
    virtual ~keystore() = default;

    /// Every stored keyset. Any unreadable or corrupt record fails the whole
    /// call with keys_errc::corrupt / io_error and a message naming it.
    virtual keys_result<std::vector<keyset_record>> load_all() = 0;
    /// One keyset by name; empty optional when absent. Corrupt -> error.
    virtual keys_result<std::optional<keyset_record>> load(std::string_view name) = 0;
    /// Create or replace the keyset `rec.name`, atomically and durably.
    virtual keys_result<void> store(const keyset_record& rec) = 0;
    /// Delete; returns false when there was nothing to delete.
    virtual keys_result<bool> remove(std::string_view name) = 0;
    /// Short description for logs ("file:/var/lib/countersign/keys").
    virtual std::string describe() const = 0;
};

/// Serialises a record (without `origin`) to its stored JSON form and back.
/// Shared by backends; `from_json` validates every field and that every key
/// imports as a private JWK, reporting failures against `origin`.
nlohmann::json record_to_json(const keyset_record& rec);
keys_result<keyset_record> record_from_json(const nlohmann::json& j, std::string origin);

}  // namespace countersign::jwt_signer

namespace boost::system {
template <>
struct is_error_code_enum<countersign::jwt_signer::keys_errc> : std::true_type {};
}  // namespace boost::system
