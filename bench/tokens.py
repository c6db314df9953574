#!/usr/bin/python3
"""IdP key material and tokens for bench/run.sh.

Writes into OUT_DIR:
  idp_rs256.pem        RSA-2048 private key (PKCS#8 PEM)
  idp_rs256.pub.pem    its public key (for HAProxy's jwt_verify)
  jwks.json            the public key as a JWKS (kid "bench-rs", alg RS256)
  token_same.txt       one RS256 JWT
  tokens_rotation.txt  ROTATION distinct RS256 JWTs, one per line
  tokens_distinct.txt  DISTINCT distinct RS256 JWTs (none shared with the rotation set)

Every token: iss https://idp.bench, aud orders-api, scope "openid orders:read",
a distinct sub/jti, exp = now + 1 day. Signing runs on every core
(multiprocessing) with the `cryptography` library; RSA signing is the slow part.

usage: tokens.py OUT_DIR ROTATION DISTINCT
"""
import base64
import json
import multiprocessing
import os
import sys
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ISSUER = "https://idp.bench"
AUDIENCE = "orders-api"
KID = "bench-rs"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def uint_b64(n: int) -> str:
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


_key = None
_now = 0


def _init(pem: bytes, now: int) -> None:
    global _key, _now
    _key = serialization.load_pem_private_key(pem, password=None)
    _now = now


def _token(index: int) -> str:
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": KID}, separators=(",", ":")).encode())
    claims = {
        "iss": ISSUER,
        "sub": "user-%d" % index,
        "aud": AUDIENCE,
        "iat": _now,
        "exp": _now + 86400,
        "scope": "openid orders:read",
        "jti": "bench-%d" % index,
    }
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = (header + "." + payload).encode("ascii")
    signature = _key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return header + "." + payload + "." + b64url(signature)


def _write_tokens(pool, path: str, first: int, count: int) -> None:
    with open(path, "w") as f:
        for t in pool.imap(_token, range(first, first + count), chunksize=256):
            f.write(t)
            f.write("\n")


def main() -> None:
    out, rotation, distinct = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    pub = key.public_key()
    with open(os.path.join(out, "idp_rs256.pem"), "wb") as f:
        f.write(pem)
    with open(os.path.join(out, "idp_rs256.pub.pem"), "wb") as f:
        f.write(pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    numbers = pub.public_numbers()
    jwks = {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KID,
                      "n": uint_b64(numbers.n), "e": uint_b64(numbers.e)}]}
    with open(os.path.join(out, "jwks.json"), "w") as f:
        json.dump(jwks, f)

    now = int(time.time())
    _init(pem, now)
    with open(os.path.join(out, "token_same.txt"), "w") as f:
        f.write(_token(0) + "\n")
    with multiprocessing.Pool(initializer=_init, initargs=(pem, now)) as pool:
        _write_tokens(pool, os.path.join(out, "tokens_rotation.txt"), 1, rotation)
        _write_tokens(pool, os.path.join(out, "tokens_distinct.txt"), 1 + rotation, distinct)


if __name__ == "__main__":
    main()
