// The typed, immutable configuration of one gateway: node settings from the
// `countersign:` section plus the Kong declarative entities. Built once by
// config::load_* and never changed; a reload builds a new one.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace countersign::config {

/// One `proxy_listen` / `admin_listen` entry, e.g. "0.0.0.0:8000 ssl".
struct listen_address {
    std::string address;  ///< "0.0.0.0", "127.0.0.1", "::1" (brackets removed)
    std::uint16_t port = 0;
    bool ssl = false;
    std::string text;     ///< as written, for messages
};

/// Node settings: the `countersign:` section, with COUNTERSIGN_* overrides.
struct node_config {
    std::vector<listen_address> proxy_listen;   ///< default 0.0.0.0:8000
    std::vector<listen_address> admin_listen;   ///< default 127.0.0.1:8001
    unsigned workers = 1;                       ///< `auto` = hardware threads
    std::string data_dir = "./data";
    std::string log_level = "info";             ///< trace debug info warn error critical off
    std::string access_log = "stdout";          ///< "stdout", "off" or a file path
    bool access_log_json = false;
    std::string error_log = "stderr";           ///< "stderr" or a file path
    std::string ssl_cert;                       ///< PEM file for `ssl` proxy listeners
    std::string ssl_cert_key;
    std::string admin_ssl_cert;                 ///< PEM file for `ssl` admin listeners
    std::string admin_ssl_cert_key;
    std::string public_jwks_path = "/.well-known/jwks/";

    // Limits (all sizes in bytes, times in milliseconds).
    std::size_t max_header_bytes = 32 * 1024;          ///< request line + headers
    std::size_t max_body_bytes = 0;                     ///< 0 = unlimited (streamed)
    std::chrono::milliseconds client_header_timeout{60'000};
    std::chrono::milliseconds client_body_timeout{60'000};
    std::chrono::milliseconds keepalive_timeout{75'000};
    std::size_t keepalive_requests = 10'000;            ///< per client connection
    std::size_t max_connections = 16'384;               ///< per worker
    std::size_t upstream_keepalive_pool_size = 512;     ///< idle conns per target
    std::chrono::milliseconds upstream_keepalive_idle_timeout{60'000};
    std::size_t upstream_keepalive_max_requests = 10'000;
    std::chrono::milliseconds shutdown_timeout{10'000}; ///< drain time on SIGTERM
    bool trust_forwarded_headers = false;               ///< keep incoming X-Forwarded-* (trusted_ips in Kong)
    /// jwt-signer: after a JWKS fetch, an unknown kid refetches no sooner
    /// than this (Kong: 5 minutes).
    std::chrono::milliseconds jwks_refetch_throttle{300'000};
    /// jwt-signer: entries of the verified-token and minted-token caches,
    /// per plugin instance and token slot (0 turns them off).
    std::size_t token_cache_size = 16'384;
};

struct service_config {
    std::string id;                 ///< given, or a stable UUID derived from the name
    std::string name;
    std::string protocol = "http";  ///< http | https
    std::string host;
    std::uint16_t port = 80;
    std::string path;               ///< "" or starts with "/"
    std::chrono::milliseconds connect_timeout{60'000};
    std::chrono::milliseconds read_timeout{60'000};
    std::chrono::milliseconds write_timeout{60'000};
    unsigned retries = 5;
    bool tls_verify = true;         ///< Kong's `tls_verify`; default on here
    std::string ca_certificates;    ///< optional PEM bundle path for https upstreams
    std::vector<std::string> tags;
};

struct route_config {
    std::string id;
    std::string name;
    std::string service_id;                  ///< "" = no service (only useful with a terminating plugin)
    std::vector<std::string> protocols{"http", "https"};
    std::vector<std::string> methods;        ///< upper case; empty = any
    std::vector<std::string> hosts;          ///< lower case; may hold one leading or trailing "*" wildcard
    std::vector<std::string> paths;          ///< prefixes, or "~regex"
    std::map<std::string, std::vector<std::string>> headers;  ///< lower-case name -> allowed values
    bool strip_path = true;
    bool preserve_host = false;
    int regex_priority = 0;
    std::string path_handling = "v0";        ///< v0 | v1
    std::vector<std::string> tags;
};

struct consumer_config {
    std::string id;
    std::string username;
    std::string custom_id;
    std::vector<std::string> tags;
};

/// One `plugins:` entry, wherever it was written (global, under a service,
/// route or consumer). `config` has been validated against the plugin's
/// schema and holds every field with defaults filled in.
struct plugin_config {
    std::string id;
    std::string name;
    std::string instance_name;
    bool enabled = true;
    std::string service_id;   ///< "" = not scoped to a service
    std::string route_id;     ///< "" = not scoped to a route
    std::string consumer_id;  ///< "" = not scoped to a consumer
    std::vector<std::string> protocols{"grpc", "grpcs", "http", "https"};
    std::vector<std::string> tags;
    nlohmann::json config = nlohmann::json::object();
    std::string yaml_path;    ///< e.g. "services[0].plugins[1]", for messages
};

struct gateway_config {
    std::string format_version = "3.0";
    node_config node;
    std::vector<service_config> services;
    std::vector<route_config> routes;
    std::vector<consumer_config> consumers;
    std::vector<plugin_config> plugins;
    std::string source;  ///< file path or "admin /config", for logs

    const service_config* find_service(std::string_view id_or_name) const;
    const route_config* find_route(std::string_view id_or_name) const;
    const consumer_config* find_consumer(std::string_view id_or_username) const;
    const plugin_config* find_plugin(std::string_view id_or_instance_name) const;
};

using gateway_config_ptr = std::shared_ptr<const gateway_config>;

}  // namespace countersign::config
