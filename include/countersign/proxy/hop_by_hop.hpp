// Hop-by-hop header rules (RFC 9110 §7.6.1), applied in both directions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <countersign/core/beast.hpp>

namespace countersign::proxy {

/// The lower-case tokens of every `Connection` field of `fields`.
std::vector<std::string> connection_tokens(const http::fields& fields);

/// Removes `Connection`, every field it names, `Keep-Alive`, `Proxy-Connection`,
/// `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`, `Proxy-Authenticate` and
/// `Proxy-Authorization`. Framing (`Content-Length`/`chunked`) is set again
/// afterwards by whoever serializes the message.
void strip_hop_by_hop(http::fields& fields);

/// True when `Connection` names a field the gateway or the upstream relies on
/// (`Host`, `Authorization`, `Content-Length`, `X-Forwarded-*`, `X-Real-IP`,
/// `X-Consumer-*`, ...). Such a request is answered 400: a client must not be
/// able to make the gateway drop those fields (the "Connection-listing trick").
bool connection_names_protected_field(const http::fields& fields);

/// Removes every field whose name contains '_' (nginx's and Kong's default
/// `underscores_in_headers off`), so `X_Consumer_ID` cannot alias
/// `X-Consumer-ID` behind a CGI-style upstream. Returns how many were dropped.
std::size_t drop_underscore_fields(http::fields& fields);

}  // namespace countersign::proxy
