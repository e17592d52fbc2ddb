"""Encryption at rest: nectir.crypto, EncryptedTextField and the reencrypt_secrets command."""

import base64
import hashlib
import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from integrations.models import ToolKey
from nectir import crypto

OLD_KEY = base64.urlsafe_b64encode(bytes(range(32))).decode()
NEW_KEY = base64.urlsafe_b64encode(bytes(range(100, 132))).decode()
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"


def key_id(raw: str) -> str:
    return hashlib.sha256(base64.urlsafe_b64decode(raw)).hexdigest()[:8]


@pytest.fixture
def keys(settings):
    """Set FIELD_ENCRYPTION_KEYS (first encrypts, all decrypt) for the rest of the test."""

    def use(*raw_keys):
        settings.FIELD_ENCRYPTION_KEYS = list(raw_keys)
        crypto._keyring.cache_clear()

    use(OLD_KEY)
    yield use
    crypto._keyring.cache_clear()


def stored_private_key(pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key_pem FROM integrations_toolkey WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def make_tool_key(kid="kid-1") -> ToolKey:
    return ToolKey.objects.create(kid=kid, public_jwk={"kty": "RSA", "kid": kid}, private_key_pem=PEM, status="next")


# --- crypto ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", ["s3cret", "", "é漢字🙂", "x" * 100_000])
def test_encrypt_decrypt_round_trip(keys, plaintext):
    token = crypto.encrypt(plaintext, context="field")
    assert crypto.decrypt(token, context="field") == plaintext


def test_encrypt_format_names_the_key_and_hides_the_plaintext(keys):
    token = crypto.encrypt("s3cret")
    prefix, kid, body = token.split(":")
    assert (prefix, kid) == ("enc1", key_id(OLD_KEY))
    assert "s3cret" not in token
    # 12-byte nonce + ciphertext (6 bytes) + 16-byte tag
    assert len(base64.urlsafe_b64decode(body)) == 12 + 6 + 16


def test_encrypt_same_plaintext_twice_gives_different_ciphertexts(keys):
    assert crypto.encrypt("same") != crypto.encrypt("same")


def _flip_last_char(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(_flip_last_char, id="flipped-tag"),
        pytest.param(lambda t: t[:-4], id="truncated"),
        pytest.param(lambda t: t + "!!", id="junk-appended"),
        pytest.param(lambda t: t.rsplit(":", 1)[0] + ":", id="empty-body"),
        pytest.param(lambda t: t.rsplit(":", 1)[0] + ":AAAA", id="body-shorter-than-nonce"),
        pytest.param(lambda t: t.rsplit(":", 1)[0] + ":***", id="not-base64"),
        pytest.param(lambda t: t.replace("enc1", "enc2", 1), id="unknown-version"),
        pytest.param(lambda t: "enc1:00000000:" + t.rsplit(":", 1)[1], id="unknown-key-id"),
        pytest.param(lambda t: "plain text", id="not-encrypted"),
    ],
)
def test_decrypt_tampered_value_raises_decryption_error(keys, tamper):
    token = crypto.encrypt("s3cret", context="field")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(tamper(token), context="field")


def test_decrypt_under_another_context_raises_decryption_error(keys):
    token = crypto.encrypt("s3cret", context="private_key_pem")
    with pytest.raises(crypto.DecryptionError, match="failed authentication"):
        crypto.decrypt(token, context="access_token")


def test_decrypt_after_the_key_was_removed_raises_decryption_error(keys):
    token = crypto.encrypt("s3cret")
    keys(NEW_KEY)
    with pytest.raises(crypto.DecryptionError, match=f"no configured key with id {key_id(OLD_KEY)}"):
        crypto.decrypt(token)


def test_key_rotation_old_value_still_decrypts_with_new_key_first(keys):
    old_token = crypto.encrypt("s3cret", context="f")
    assert crypto.needs_reencryption(old_token) is False
    keys(NEW_KEY, OLD_KEY)
    assert crypto.decrypt(old_token, context="f") == "s3cret"
    assert crypto.needs_reencryption(old_token) is True
    new_token = crypto.encrypt("s3cret", context="f")
    assert new_token.split(":")[1] == key_id(NEW_KEY)
    assert crypto.needs_reencryption(new_token) is False
    keys(NEW_KEY)
    assert crypto.decrypt(new_token, context="f") == "s3cret"


@pytest.mark.parametrize(
    "bad_key",
    [
        pytest.param(base64.urlsafe_b64encode(b"short").decode(), id="not-32-bytes"),
        pytest.param("%%%not base64%%%", id="not-base64"),
    ],
)
def test_keyring_misconfigured_key_is_improperly_configured(keys, bad_key):
    keys(bad_key)
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt("x")


def test_generate_key_is_a_usable_32_byte_key(keys):
    raw = crypto.generate_key()
    assert len(base64.urlsafe_b64decode(raw)) == 32
    keys(raw)
    assert crypto.decrypt(crypto.encrypt("x")) == "x"


# --- EncryptedTextField ---------------------------------------------------------------------------


def test_encrypted_field_column_holds_ciphertext(keys, db):
    key = make_tool_key()
    raw = stored_private_key(key.pk)
    assert raw.startswith(f"enc1:{key_id(OLD_KEY)}:")
    assert "PRIVATE KEY" not in raw and "MIIEvQ" not in raw
    # The column name is the associated data.
    assert crypto.decrypt(raw, context="private_key_pem") == PEM
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(raw, context="")


def test_encrypted_field_python_code_sees_plaintext(keys, db):
    key = make_tool_key()
    assert ToolKey.objects.get(pk=key.pk).private_key_pem == PEM
    assert list(ToolKey.objects.values_list("private_key_pem", flat=True)) == [PEM]


def test_encrypted_field_damaged_column_raises_on_read(keys, db):
    key = make_tool_key()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE integrations_toolkey SET private_key_pem = %s WHERE id = %s",
            [_flip_last_char(stored_private_key(key.pk)), key.pk],
        )
    with pytest.raises(crypto.DecryptionError):
        ToolKey.objects.get(pk=key.pk)


# --- reencrypt_secrets -----------------------------------------------------------------------------


def test_reencrypt_secrets_rewrites_values_under_the_new_first_key(keys, db):
    first, second = make_tool_key("kid-1"), make_tool_key("kid-2")
    before = {k.pk: stored_private_key(k.pk) for k in (first, second)}
    keys(NEW_KEY, OLD_KEY)

    out = io.StringIO()
    call_command("reencrypt_secrets", stdout=out)

    assert out.getvalue() == "Re-encrypted 2 value(s).\n"
    for key in (first, second):
        raw = stored_private_key(key.pk)
        assert raw != before[key.pk]
        assert raw.startswith(f"enc1:{key_id(NEW_KEY)}:")
        assert crypto.needs_reencryption(raw) is False
    # The old key can now be removed.
    keys(NEW_KEY)
    assert sorted(ToolKey.objects.values_list("kid", "private_key_pem")) == [("kid-1", PEM), ("kid-2", PEM)]


def test_reencrypt_secrets_second_run_changes_nothing(keys, db):
    key = make_tool_key()
    keys(NEW_KEY, OLD_KEY)
    call_command("reencrypt_secrets", stdout=io.StringIO())
    raw = stored_private_key(key.pk)
    out = io.StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert out.getvalue() == "Re-encrypted 0 value(s).\n"
    assert stored_private_key(key.pk) == raw


def test_reencrypt_secrets_only_touches_values_under_an_old_key(keys, db):
    old = make_tool_key("kid-old")
    keys(NEW_KEY, OLD_KEY)
    current = make_tool_key("kid-new")
    current_raw = stored_private_key(current.pk)
    out = io.StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert out.getvalue() == "Re-encrypted 1 value(s).\n"
    assert stored_private_key(current.pk) == current_raw
    assert stored_private_key(old.pk).startswith(f"enc1:{key_id(NEW_KEY)}:")
