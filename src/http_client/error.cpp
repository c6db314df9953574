#include <countersign/http_client/error.hpp>

#include <string>

namespace countersign::http_client {

namespace {

class category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "countersign.http_client"; }

    std::string message(int ev) const override
    {
        switch (static_cast<error>(ev)) {
        case error::bad_url: return "bad URL";
        case error::unsupported_scheme: return "unsupported URL scheme (need http or https)";
        case error::resolve_failed: return "host name did not resolve";
        case error::connect_failed: return "connection failed";
        case error::connect_timeout: return "connect timed out";
        case error::tls_config: return "TLS configuration failed (CA, client certificate or key)";
        case error::tls_failed: return "TLS handshake failed";
        case error::connection_closed: return "connection closed before a response arrived";
        case error::timeout: return "request timed out";
        case error::too_large: return "response too large";
        case error::bad_response: return "malformed HTTP response";
        }
        return "unknown http_client error";
    }
};

}  // namespace

const boost::system::error_category& http_client_category() noexcept
{
    static const category instance;
    return instance;
}

boost::system::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), http_client_category()};
}

bool is_connection_failure(const boost::system::error_code& ec) noexcept
{
    return ec == error::resolve_failed || ec == error::connect_failed || ec == error::connect_timeout ||
           ec == error::connection_closed;
}

}  // namespace countersign::http_client
