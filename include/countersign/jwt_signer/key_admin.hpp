#pragma once
// The key admin API of the jwt-signer plugin in Kong's shapes (reference
// §2.2), and the public JWKS served on the proxy listeners (countersign
// extension). The handlers are pure functions of (method, path, query, body)
// over the node-wide keyset manager; the admin router and the proxy session
// only mount them:
//
//   GET    /jwt-signer/jwks                      paginated list (size, offset)
//   GET    /jwt-signer/jwks/{id or name}         application/jwk-set+json {keys, previous}
//   POST   /jwt-signer/jwks/{id or name}/rotate  new generation (optional JSON body with
//                                                client_username / client_password /
//                                                client_certificate for URL keysets)
//   DELETE /jwt-signer/jwks/{id or name}         204
//   GET    {public_jwks_path}{keyset}.json       public keys, ETag, short Cache-Control
//
// No answer ever contains a private member (d p q dp dq qi oth) or a
// symmetric key (k): JWKs are exported through a whitelist.

#include <countersign/admin/router.hpp>
#include <countersign/jwt_signer/jwt_signer_services.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace countersign::jwt_signer {

/// Registers the four admin routes on `r`.
void add_key_admin_routes(admin::router& r, std::shared_ptr<jwt_signer_services> services);

/// GET /jwt-signer/jwks?size=&offset=
admin::response list_keysets(const keyset_manager& keysets, std::string_view query);
/// GET /jwt-signer/jwks/{id or name} (already percent-decoded)
admin::response get_keyset(const keyset_manager& keysets, std::string_view id_or_name);
/// DELETE /jwt-signer/jwks/{id or name}
admin::response delete_keyset(keyset_manager& keysets, std::string_view id_or_name);
/// POST /jwt-signer/jwks/{id or name}/rotate. Runs to completion (URL
/// keysets are fetched on a private io_context, bounded by the timeouts).
admin::response rotate_keyset(jwt_signer_services& services, std::string_view id_or_name, std::string_view body);

/// Cache-Control of the public JWKS.
inline constexpr std::string_view public_jwks_cache_control = "public, max-age=60";

/// The public JWKS for a proxy request: nullopt when `path` is not under
/// `public_jwks_path` (the session then routes as usual). Otherwise 200 with
/// `{"keys":[current..., previous...]}`, `ETag`, `Cache-Control`; 304 when
/// `if_none_match` matches; 404 for an unknown keyset or a path not ending
/// in ".json"; 405 for methods other than GET and HEAD.
std::optional<admin::response> serve_public_jwks(const keyset_manager& keysets, std::string_view public_jwks_path,
                                                 std::string_view method, std::string_view path,
                                                 std::string_view if_none_match = {});

}  // namespace countersign::jwt_signer
