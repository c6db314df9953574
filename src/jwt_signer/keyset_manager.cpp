#include "countersign/jwt_signer/keyset_manager.hpp"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace countersign::jwt_signer {

namespace {

constexpr std::size_t max_name_bytes = 2048;

keys_result<void> check_name(std::string_view name)
{
    if (name.empty())
        return make_failure(keys_errc::invalid_name, "keyset name is empty");
    if (name.size() > max_name_bytes)
        return make_failure(keys_errc::invalid_name, "keyset name longer than 2048 bytes");
    if (name.find('\0') != std::string_view::npos)
        return make_failure(keys_errc::invalid_name, "keyset name contains a NUL byte");
    return {};
}

keys_failure not_found(std::string_view name)
{
    return make_failure(keys_errc::not_found, "keyset \"" + std::string(name) + "\" not found");
}

}  // namespace

std::string make_uuid_v4()
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        throw std::runtime_error("RAND_bytes failed");
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out.push_back('-');
        out.push_back(digits[b[i] >> 4]);
        out.push_back(digits[b[i] & 0xf]);
    }
    return out;
}

bool due_for_rotation(std::int64_t updated_at_unix, std::chrono::seconds period,
                      std::chrono::system_clock::time_point now) noexcept
{
    if (period.count() <= 0)
        return false;
    const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    return now_s - updated_at_unix >= period.count();
}

std::chrono::seconds rotation_backoff(int consecutive_failures, std::chrono::seconds period) noexcept
{
    if (consecutive_failures <= 0 || consecutive_failures > rotation_schedule::max_retries)
        return period;
    const std::chrono::seconds delay{rotation_schedule::base_backoff.count() << (consecutive_failures - 1)};
    return period.count() > 0 ? std::min(delay, period) : delay;
}

std::chrono::seconds rotation_schedule::on_success() noexcept
{
    failures_ = 0;
    return period_;
}

std::chrono::seconds rotation_schedule::on_failure() noexcept
{
    ++failures_;
    if (failures_ > max_retries) {
        failures_ = 0;
        return period_;
    }
    return rotation_backoff(failures_, period_);
}

keyset_manager::keyset_manager(std::shared_ptr<keystore> store, const clock& clk)
    : store_(std::move(store)), clock_(clk), registry_(std::make_shared<const registry>())
{
}

keys_result<std::size_t> keyset_manager::load_all()
{
    auto records = store_->load_all();
    if (!records)
        return records.error();
    auto next = std::make_shared<registry>();
    for (const auto& rec : *records) {
        auto ks = keyset::from_record(rec);
        if (!ks)
            return ks.error();
        next->by_name[(*ks)->name()] = *ks;
        if (!(*ks)->id().empty())
            next->by_id[(*ks)->id()] = *ks;
    }
    std::lock_guard lock(write_mutex_);
    registry_.store(std::move(next), std::memory_order_release);
    spdlog::info("key storage: loaded {} keyset(s) from {}", records->size(), store_->describe());
    return records->size();
}

keyset_ptr keyset_manager::find(std::string_view name_or_id) const
{
    auto reg = snapshot();
    if (auto it = reg->by_name.find(name_or_id); it != reg->by_name.end())
        return it->second;
    if (auto it = reg->by_id.find(name_or_id); it != reg->by_id.end())
        return it->second;
    return nullptr;
}

std::vector<keyset_ptr> keyset_manager::list() const
{
    auto reg = snapshot();
    std::vector<keyset_ptr> out;
    out.reserve(reg->by_name.size());
    for (const auto& [name, ks] : reg->by_name)
        out.push_back(ks);
    return out;
}

void keyset_manager::publish(const keyset_ptr& ks, const keyset_ptr& replaced)
{
    auto next = std::make_shared<registry>(*snapshot());
    if (replaced) {
        next->by_name.erase(replaced->name());
        next->by_id.erase(replaced->id());
    }
    next->by_name[ks->name()] = ks;
    if (!ks->id().empty())
        next->by_id[ks->id()] = ks;
    registry_.store(std::move(next), std::memory_order_release);
}

void keyset_manager::unpublish(const keyset_ptr& ks)
{
    auto next = std::make_shared<registry>(*snapshot());
    next->by_name.erase(ks->name());
    next->by_id.erase(ks->id());
    registry_.store(std::move(next), std::memory_order_release);
}

keys_result<keyset_ptr> keyset_manager::persist_and_publish(keyset_record rec, const keyset_ptr& replaced)
{
    // Validate before persisting: never store what we could not load back.
    auto ks = keyset::from_record(rec);
    if (!ks)
        return ks.error();
    if (auto r = store_->store(rec); !r)
        return r.error();
    publish(*ks, replaced);
    return *ks;
}

keys_result<keyset_ptr> keyset_manager::get_or_create(std::string_view name, const keyset_options& options)
{
    if (auto r = check_name(name); !r)
        return r.error();
    if (auto ks = find(name); ks && ks->name() == name)
        return ks;

    {
        std::lock_guard lock(write_mutex_);
        if (auto ks = find(name); ks && ks->name() == name)
            return ks;
        // Another node (shared backend) or an earlier run may have it.
        auto stored = store_->load(name);
        if (!stored)
            return stored.error();
        if (*stored) {
            auto ks = keyset::from_record(**stored);
            if (!ks)
                return ks.error();
            publish(*ks, nullptr);
            return *ks;
        }
        if (is_url_keyset(name))
            return make_failure(keys_errc::not_found,
                                "URL keyset \"" + std::string(name) + "\" has not been fetched yet");
    }

    // Slow part outside the lock: readers and other keysets are not held up.
    auto keys = keyset::generate_generation(options);
    if (!keys)
        return keys.error();

    std::lock_guard lock(write_mutex_);
    if (auto ks = find(name); ks && ks->name() == name)
        return ks;  // created concurrently; ours is discarded
    keyset_record rec;
    rec.name = std::string(name);
    rec.id = make_uuid_v4();
    rec.created_at = rec.updated_at = clock_.unix_seconds();
    rec.generation = 1;
    rec.current = std::move(*keys);
    rec.previous = nlohmann::json::array();
    auto ks = persist_and_publish(std::move(rec), nullptr);
    if (ks)
        spdlog::info("jwt-signer: generated keyset \"{}\" (id {})", name, (*ks)->id());
    return ks;
}

keys_result<keyset_ptr> keyset_manager::install_generation(std::string_view name_or_id, const nlohmann::json& keys,
                                                           bool create_if_missing)
{
    std::lock_guard lock(write_mutex_);
    keyset_ptr cur = find(name_or_id);
    keyset_record rec;
    if (cur) {
        rec = cur->to_record();
        rec.previous = std::move(rec.current);
        rec.current = keys;
        rec.generation += 1;
        rec.updated_at = clock_.unix_seconds();
    } else {
        if (!create_if_missing)
            return not_found(name_or_id);
        rec.name = std::string(name_or_id);
        rec.id = make_uuid_v4();
        rec.created_at = rec.updated_at = clock_.unix_seconds();
        rec.generation = 1;
        rec.current = keys;
        rec.previous = nlohmann::json::array();
        rec.source_url = rec.name;
    }
    auto ks = persist_and_publish(std::move(rec), cur);
    if (ks)
        spdlog::info("jwt-signer: keyset \"{}\" now at generation {}", (*ks)->name(), (*ks)->generation());
    return ks;
}

keys_result<keyset_ptr> keyset_manager::rotate(std::string_view name_or_id, std::optional<keyset_options> options)
{
    auto cur = find(name_or_id);
    if (!cur)
        return not_found(name_or_id);
    if (cur->is_url())
        return make_failure(keys_errc::unsupported_operation,
                            "keyset \"" + cur->name() + "\" comes from a URL: rotate it by fetching (rotate_with)");
    auto keys = keyset::generate_generation(options ? *options : cur->inferred_options());
    if (!keys)
        return keys.error();
    return install_generation(cur->name(), *keys, false);
}

keys_result<keyset_ptr> keyset_manager::rotate_with(std::string_view name_or_id, const nlohmann::json& private_jwks)
{
    if (auto r = check_name(name_or_id); !r)
        return r.error();
    auto cur = find(name_or_id);
    if (cur && !cur->is_url())
        return make_failure(keys_errc::unsupported_operation,
                            "keyset \"" + cur->name() + "\" is generated; only URL keysets take fetched keys");
    if (!cur && !is_url_keyset(name_or_id))
        return not_found(name_or_id);
    auto keys = keyset::validate_private_jwks(private_jwks);
    if (!keys)
        return keys.error();
    return install_generation(cur ? std::string_view(cur->name()) : name_or_id, *keys, true);
}

keys_result<bool> keyset_manager::remove(std::string_view name_or_id)
{
    std::lock_guard lock(write_mutex_);
    keyset_ptr cur = find(name_or_id);
    const std::string name = cur ? cur->name() : std::string(name_or_id);
    if (name.empty())
        return false;
    auto removed = store_->remove(name);
    if (!removed)
        return removed.error();
    if (cur) {
        unpublish(cur);
        spdlog::info("jwt-signer: removed keyset \"{}\"", name);
        return true;
    }
    return *removed;
}

bool keyset_manager::due_for_rotation(std::string_view name_or_id, std::chrono::seconds period,
                                      std::chrono::system_clock::time_point now) const
{
    auto ks = find(name_or_id);
    return ks && jwt_signer::due_for_rotation(ks->updated_at(), period, now);
}

std::optional<std::chrono::seconds> keyset_manager::generation_age(std::string_view name_or_id) const
{
    auto ks = find(name_or_id);
    if (!ks)
        return std::nullopt;
    return std::chrono::seconds{std::max<std::int64_t>(0, clock_.unix_seconds() - ks->updated_at())};
}

}  // namespace countersign::jwt_signer
