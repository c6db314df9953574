#include <countersign/plugins/uuid.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>

#include <pthread.h>

#include <openssl/rand.h>

namespace countersign::plugins {

namespace {

// Bumped in a forked child so that no two processes share a stream.
std::atomic<unsigned> fork_generation{0};

void on_fork_child() { fork_generation.fetch_add(1, std::memory_order_relaxed); }

struct xoshiro256 {
    std::uint64_t s[4] = {};
    unsigned generation = ~0u;

    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

    void seed()
    {
        static const int registered = pthread_atfork(nullptr, nullptr, on_fork_child);
        (void)registered;
        if (RAND_bytes(reinterpret_cast<unsigned char*>(s), sizeof s) != 1) {
            std::random_device rd;
            auto t = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
            for (auto& w : s) w = (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^ (t = t * 6364136223846793005ULL + 1);
        }
        if ((s[0] | s[1] | s[2] | s[3]) == 0) s[0] = 1;
        generation = fork_generation.load(std::memory_order_relaxed);
    }

    std::uint64_t next()
    {
        if (generation != fork_generation.load(std::memory_order_relaxed)) seed();
        const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
        const std::uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return result;
    }
};

thread_local xoshiro256 rng;

}  // namespace

void write_random_uuid(char* out)
{
    static constexpr char hex[] = "0123456789abcdef";
    unsigned char b[16];
    std::uint64_t a = rng.next(), c = rng.next();
    std::memcpy(b, &a, 8);
    std::memcpy(b + 8, &c, 8);
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC variant
    int o = 0;
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
}

std::string random_uuid()
{
    std::string s(36, '\0');
    write_random_uuid(s.data());
    return s;
}

}  // namespace countersign::plugins
