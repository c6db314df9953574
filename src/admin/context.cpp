#include <countersign/admin/context.hpp>

#include <unistd.h>

#include <array>
#include <cstdio>
#include <random>

namespace countersign::admin {

std::string random_uuid()
{
    std::random_device rd;
    std::array<unsigned char, 16> b{};
    for (auto& x : b)
        x = static_cast<unsigned char>(rd());
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
    char out[37];
    std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                  b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return out;
}

context context::for_this_process(unsigned workers)
{
    context ctx;
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    ctx.node.hostname = host;
    ctx.node.node_id = random_uuid();
#ifdef COUNTERSIGN_VERSION
    ctx.node.version = COUNTERSIGN_VERSION;
#endif
    ctx.node.pid = static_cast<int>(::getpid());
    ctx.node.workers = workers;
    ctx.node.started_at = std::chrono::system_clock::now();
    return ctx;
}

}  // namespace countersign::admin
