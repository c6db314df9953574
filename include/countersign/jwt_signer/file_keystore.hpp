#pragma once
// File backend of the keystore: one JSON file per keyset under
// <data_dir>/keys/, named by the SHA-256 (hex) of the keyset name, never by
// the raw name (names can be URLs). The real name is kept inside the file and
// checked against the file name on load.
//
// On-disk format (version 1):
//   {"format":"countersign-keyset","version":1,"sha256":"<hex of keyset.dump()>",
//    "keyset":{"name","id","created_at","updated_at","generation","keys":[private JWKs],
//              "previous":[private JWKs],"source_url"?}}
//
// Durability: every write goes to ".<file>.tmp.<random>" in the same directory
// (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600), is fsync'ed, renamed over the target,
// then the directory is fsync'ed. A failed fsync fails the write (the temp file
// is unlinked, the old file stays). Leftover temp files from a crash are
// deleted when the store is opened.
//
// Permissions: the key directory must be 0700 and the files 0600, owned by the
// effective uid, not symlinks. By default anything looser is refused with a
// message telling the operator what to fix (OpenSSH-style); with
// `repair_permissions` the store tightens the modes itself and logs a warning.
// A wrong owner or a symlink is always refused.

#include "countersign/jwt_signer/keystore.hpp"

#include <filesystem>
#include <memory>
#include <mutex>

namespace countersign::jwt_signer {

struct file_keystore_options {
    /// Tighten group/world-accessible modes (dir -> 0700, file -> 0600) with a
    /// warning instead of refusing to open/load.
    bool repair_permissions = false;
};

class file_keystore final : public keystore {
public:
    /// Opens (creating with mode 0700 if needed) `<data_dir>/keys`, checks its
    /// permissions and removes leftover temp files. `data_dir` itself is created
    /// with mode 0700 when missing.
    /// Errors: io_error (cannot create/open), insecure_permissions.
    static keys_result<std::shared_ptr<file_keystore>> open(const std::filesystem::path& data_dir,
                                                            const file_keystore_options& options = {});

    keys_result<std::vector<keyset_record>> load_all() override;
    keys_result<std::optional<keyset_record>> load(std::string_view name) override;
    keys_result<void> store(const keyset_record& rec) override;
    keys_result<bool> remove(std::string_view name) override;
    std::string describe() const override;

    /// The key directory (`<data_dir>/keys`).
    const std::filesystem::path& directory() const noexcept { return dir_; }
    /// File name used for a keyset: hex(SHA-256(name)) + ".json".
    static std::string file_name_for(std::string_view name);
    std::filesystem::path path_for(std::string_view name) const { return dir_ / file_name_for(name); }

    file_keystore(std::filesystem::path dir, file_keystore_options options);

private:
    keys_result<std::optional<keyset_record>> load_file(const std::filesystem::path& path, bool must_exist);

    std::filesystem::path dir_;
    file_keystore_options options_;
    std::mutex write_mutex_;
};

}  // namespace countersign::jwt_signer
