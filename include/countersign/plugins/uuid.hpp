// Fast random UUIDs: a per-thread xoshiro256** generator seeded from
// OpenSSL's RAND_bytes (reseeded in a forked child). Not for secrets.
#pragma once

#include <string>

namespace countersign::plugins {

/// A random RFC 9562 version-4 UUID, lower-case "8-4-4-4-12".
std::string random_uuid();

/// Writes a version-4 UUID into out[0..36) (no terminator).
void write_random_uuid(char* out);

}  // namespace countersign::plugins
