#!/usr/bin/env python3
"""Independent reference for Drupal 7's `$S$` (phpass SHA-512) password hash.

Written from the description in drupal-storage-facts.md §4.3, not from Drupal
code. It prints the hash for a fixed password and salt so that the Rust unit
test in src/drupal/password.rs can pin the exact string.

Algorithm: h = sha512(salt + pw); repeat 2**n times: h = sha512(h + pw);
result = "$S$" + ITOA64[n] + salt + crypt_base64(h), cut to 55 characters.
crypt_base64 reads the bytes as a little-endian bit stream and emits 6 bits
at a time, low bits first, through ITOA64; a partial last group still emits
ceil(bits / 6) characters.
"""
import hashlib
import sys

ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def crypt_base64(data: bytes) -> str:
    # Treat each 3-byte chunk as one little-endian integer, take 6-bit groups.
    out = []
    for start in range(0, len(data), 3):
        chunk = data[start:start + 3]
        value = int.from_bytes(chunk, "little")
        chars = (len(chunk) * 8 + 5) // 6
        for k in range(chars):
            out.append(ITOA64[(value >> (6 * k)) & 63])
    return "".join(out)


def drupal7_hash(password: str, salt: str, count_log2: int) -> str:
    pw = password.encode("utf-8")
    h = hashlib.sha512(salt.encode("ascii") + pw).digest()
    for _ in range(1 << count_log2):
        h = hashlib.sha512(h + pw).digest()
    full = "$S$" + ITOA64[count_log2] + salt + crypt_base64(h)
    return full[:55]


if __name__ == "__main__":
    password = sys.argv[1] if len(sys.argv) > 1 else "correct horse"
    salt = sys.argv[2] if len(sys.argv) > 2 else "abcdEFGH"
    count_log2 = int(sys.argv[3]) if len(sys.argv) > 3 else 15
    print(drupal7_hash(password, salt, count_log2))
