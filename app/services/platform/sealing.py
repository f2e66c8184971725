"""Sealing secrets the server must read back (TOTP seeds): AES-256-GCM under a key ring.

A sealed value is "v1.<key id>.<nonce>.<ciphertext>" (URL-safe base64 parts), so it names the
key that sealed it: keys can be added and the old ones kept for opening until everything has
been sealed again. The purpose is bound in as associated data, so a value sealed for one
column cannot be moved into another and opened there.
"""

import base64
import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"CLSEAL1\n"  # how a sealed file starts


class SealingError(ValueError):
    """The value is not one of ours, or its key is not in the ring."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class KeyRing:
    """Keys by id; the last one seals, any opens."""

    def __init__(self, keys: dict[str, bytes]):
        if not keys or any(len(key) != 32 for key in keys.values()):
            raise ValueError("each encryption key must be 32 bytes")
        self.keys, self.current = dict(keys), list(keys)[-1]

    @classmethod
    def from_setting(cls, setting: str | None, fallback_secret: str) -> "KeyRing":
        """From ENCRYPTION_KEYS ("id:base64,id:base64"), else one key derived from a secret."""
        if not setting:
            derived = hashlib.sha256(f"communitylend/sealing/{fallback_secret}".encode()).digest()
            return cls({"dev": derived})
        pairs = (item.split(":", 1) for item in setting.split(",") if item.strip())
        return cls({key_id.strip(): _unb64(value.strip()) for key_id, value in pairs})

    def seal(self, plaintext: str, purpose: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.current]).encrypt(
            nonce, plaintext.encode(), purpose.encode()
        )
        return ".".join(("v1", self.current, _b64(nonce), _b64(sealed)))

    def open(self, sealed: str, purpose: str) -> str:
        try:
            version, key_id, nonce, data = sealed.split(".")
            key = self.keys[key_id]
        except (ValueError, KeyError) as error:
            raise SealingError("not a sealed value of a known key") from error
        if version != "v1":
            raise SealingError(f"unknown sealing version {version}")
        try:
            return AESGCM(key).decrypt(_unb64(nonce), _unb64(data), purpose.encode()).decode()
        except Exception as error:  # InvalidTag: tampered, or sealed for another purpose
            raise SealingError("the sealed value does not open") from error

    def needs_resealing(self, sealed: str) -> bool:
        return sealed.split(".")[1] != self.current

    def seal_bytes(self, data: bytes, purpose: str) -> bytes:
        """A file's bytes, sealed: MAGIC, the key id and a newline, the nonce, the ciphertext."""
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.current]).encrypt(nonce, data, purpose.encode())
        return MAGIC + self.current.encode() + b"\n" + nonce + sealed

    def open_bytes(self, blob: bytes, purpose: str) -> bytes:
        if not blob.startswith(MAGIC):
            raise SealingError("not a sealed file")
        key_id, _, rest = blob[len(MAGIC) :].partition(b"\n")
        key = self.keys.get(key_id.decode(errors="replace"))
        if key is None:
            raise SealingError("sealed with a key that is not in the ring")
        try:
            return AESGCM(key).decrypt(rest[:12], rest[12:], purpose.encode())
        except Exception as error:  # InvalidTag
            raise SealingError("the sealed file does not open") from error

    def file_needs_resealing(self, blob: bytes) -> bool:
        return not blob.startswith(MAGIC + self.current.encode() + b"\n")
