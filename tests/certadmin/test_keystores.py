"""certadmin.keystores against the real keytool and openssl (no Django needed).

Every keytool call starts a JVM (~0.4 s), so all fixture stores are built once per module, in a
few parallel threads.
"""

import dataclasses
import random
import re
import shlex
import shutil
import struct
import subprocess
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jks
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from certadmin import ber, keystores
from certadmin.keystores import (
    ImportedKey,
    KeyEntry,
    KeystoreError,
    SkippedEntry,
    read_keystore,
    write_jks,
    write_pkcs12,
)

pytestmark = pytest.mark.skipif(
    not (shutil.which("keytool") and shutil.which("openssl")), reason="needs keytool and openssl"
)

PW = "changeit"
KEYTOOL = ["keytool"]  # (C1-only JIT flags speed start-up but make RSA keygen 10x slower)
OPENSSL_PKCS12 = ["openssl", "pkcs12", "-nodes", "-passin", f"pass:{PW}", "-in"]
DER = serialization.Encoding.DER


def run(*args: str, cwd: Path) -> str:
    """Run a command, fail on a non-zero exit, return stdout + stderr."""
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def keytool(*args: str, cwd: Path) -> str:
    return run(*KEYTOOL, *args, cwd=cwd)


def opts(store: str, storetype: str = "JKS") -> list[str]:
    return ["-keystore", store, "-storetype", storetype, "-storepass", PW]


def genkey(store: str, alias: str, *extra: str, storetype: str = "JKS") -> list[str]:
    algorithm = [] if "-keyalg" in extra else shlex.split("-keyalg EC -groupname secp256r1")
    dname = ["-alias", alias, "-dname", f"CN={alias}", "-validity", "30"]
    return ["-genkeypair", *dname, *opts(store, storetype), *algorithm, *extra]


def genseckey(store: str, storetype: str) -> list[str]:
    return [
        "-genseckey",
        *shlex.split("-keyalg AES -keysize 128 -alias aes"),
        *opts(store, storetype),
    ]


def importcert(store: str, alias: str, pem: str, storetype: str = "JKS") -> list[str]:
    return ["-importcert", "-noprompt", "-alias", alias, "-file", pem, *opts(store, storetype)]


def importkeystore(source: str, target: str) -> list[str]:
    return [
        *shlex.split(f"-importkeystore -noprompt -srckeystore {source} -srcstoretype JKS"),
        *("-srcstorepass", PW, "-deststorepass", PW),
        *shlex.split(f"-destkeystore {target} -deststoretype PKCS12"),
    ]


def openssl_cert(name: str, cwd: Path) -> str:
    """A self-signed EC certificate made by openssl (no JVM start), as a PEM file name."""
    command = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2"
    run(*shlex.split(f"{command} -keyout {name}.key -out {name}.pem -subj /CN={name}"), cwd=cwd)
    return f"{name}.pem"


def chain_recipe(cwd: Path) -> None:
    """root -> intermediate (both bc:c) -> leaf, installed as a chain reply; also as PKCS#12."""
    ca, leaf = opts("ca.jks"), opts("chain.jks")
    keytool(*genkey("ca.jks", "Root", "-ext", "bc:c"), cwd=cwd)
    keytool(*genkey("ca.jks", "Int"), cwd=cwd)
    keytool(*shlex.split("-certreq -alias Int -file int.csr"), *ca, cwd=cwd)
    gencert = "-gencert -rfc -alias Root -ext bc:c -infile int.csr -outfile int.pem"
    keytool(*shlex.split(gencert), *ca, cwd=cwd)
    keytool(*shlex.split("-exportcert -rfc -alias Root -file root.pem"), *ca, cwd=cwd)
    keytool(*genkey("chain.jks", "leaf", "-keyalg", "RSA", "-keysize", "2048"), cwd=cwd)
    keytool(*shlex.split("-certreq -alias leaf -file leaf.csr"), *leaf, cwd=cwd)
    keytool(
        *shlex.split("-gencert -rfc -alias Int -infile leaf.csr -outfile leaf.pem"), *ca, cwd=cwd
    )
    reply = b"".join((cwd / name).read_bytes() for name in ("leaf.pem", "int.pem", "root.pem"))
    (cwd / "reply.pem").write_bytes(reply)
    keytool(*importcert("chain.jks", "leaf", "reply.pem"), cwd=cwd)
    keytool(*importkeystore("chain.jks", "chain.p12"), cwd=cwd)
    keytool(*importcert("chain.p12", "rootca", "root.pem", "PKCS12"), cwd=cwd)


def pkcs12_recipe(cwd: Path) -> None:
    """Two keys, a trusted certificate and a secret key in one keytool PKCS#12."""
    rsa2048 = ("-keyalg", "RSA", "-keysize", "2048")
    keytool(*genkey("store.p12", "Web Key", *rsa2048, storetype="PKCS12"), cwd=cwd)
    keytool(*genkey("store.p12", "second", storetype="PKCS12"), cwd=cwd)
    keytool(*importcert("store.p12", "outside", openssl_cert("outside", cwd), "PKCS12"), cwd=cwd)
    keytool(*genseckey("store.p12", "PKCS12"), cwd=cwd)


def mixed_recipe(cwd: Path) -> None:
    """A key + a trusted certificate; and a store of trusted certificates only."""
    keytool(*genkey("mixed.jks", "own"), cwd=cwd)
    keytool(*importcert("mixed.jks", "peer", openssl_cert("peer", cwd)), cwd=cwd)
    keytool(*importcert("trusted.jks", "peer", "peer.pem"), cwd=cwd)
    keytool(*importcert("trusted.jks", "other ca", openssl_cert("other", cwd)), cwd=cwd)


def small_recipe(cwd: Path) -> None:
    keytool(*genkey("rsa.jks", "server", "-keyalg", "RSA", "-keysize", "2048"), cwd=cwd)
    keytool(*genkey("keypass.jks", "guarded", "-keypass", "another-password"), cwd=cwd)


def three_recipe(cwd: Path) -> None:
    keytool(*genkey("three.jks", "My Server Key", "-keyalg", "RSA", "-keysize", "2048"), cwd=cwd)
    keytool(*genkey("three.jks", "second"), cwd=cwd)
    keytool(*genkey("three.jks", "third", "-keyalg", "RSA", "-keysize", "2048"), cwd=cwd)


def big_recipe(cwd: Path) -> None:
    keytool(*genkey("rsa4096.jks", "big", "-keyalg", "RSA", "-keysize", "4096"), cwd=cwd)
    keytool(*genkey("store.jceks", "jce", storetype="JCEKS"), cwd=cwd)
    keytool(*genseckey("store.jceks", "JCEKS"), cwd=cwd)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("keystores")
    recipes = [chain_recipe, pkcs12_recipe, mixed_recipe, three_recipe, small_recipe, big_recipe]
    with ThreadPoolExecutor(max_workers=3) as pool:
        for future in [pool.submit(recipe, cwd) for recipe in recipes]:
            future.result()
    return cwd


@pytest.fixture(scope="module")
def store(workdir: Path):
    return lambda name: (workdir / name).read_bytes()


def entry_of(key: ImportedKey, alias: str | None = None) -> KeyEntry:
    pkcs8 = key.private_key.private_bytes(
        DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return KeyEntry(alias or key.alias, pkcs8, [cert.public_bytes(DER) for cert in key.chain])


def spki(holder) -> bytes:
    return holder.public_key().public_bytes(DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def subjects(key: ImportedKey) -> list[str]:
    return [cert.subject.rfc4514_string() for cert in key.chain]


# --- keytool-made stores ------------------------------------------------------------------


def test_one_rsa_key(store):
    contents = read_keystore(store("rsa.jks"), PW)
    assert contents.store_type == "JKS"
    assert contents.skipped == []
    (key,) = contents.keys
    assert key.alias == "server"
    assert isinstance(key.private_key, rsa.RSAPrivateKey)
    assert key.private_key.key_size == 2048
    assert subjects(key) == ["CN=server"]


def test_three_keys_alias_with_spaces_and_capitals(store):
    keys = {key.alias: key for key in read_keystore(store("three.jks"), PW).keys}  # JKS: hash order
    assert {alias: subjects(key) for alias, key in keys.items()} == {
        "my server key": ["CN=My Server Key"],
        "second": ["CN=second"],
        "third": ["CN=third"],
    }
    assert isinstance(keys["my server key"].private_key, rsa.RSAPrivateKey)


def test_rsa_4096(store):
    (key,) = read_keystore(store("rsa4096.jks"), PW).keys
    assert key.private_key.key_size == 4096


def test_ec_p256(store):
    key = next(k for k in read_keystore(store("three.jks"), PW).keys if k.alias == "second")
    assert isinstance(key.private_key.curve, ec.SECP256R1)
    assert spki(key.private_key) == spki(key.chain[0])


def test_key_password_differs_from_store_password(store):
    with pytest.raises(KeystoreError) as raised:
        read_keystore(store("keypass.jks"), PW)
    assert str(raised.value) == (
        "The Keystore contains a certificate 'guarded' whose per key password is not the same "
        "as the keystore password."
    )


def test_key_and_trusted_certificate(store):
    contents = read_keystore(store("mixed.jks"), PW)
    assert [key.alias for key in contents.keys] == ["own"]
    assert contents.skipped == [
        SkippedEntry("peer", "trusted certificate", keystores._TRUSTED_REASON)
    ]


def test_trusted_certificates_only(store):
    contents = read_keystore(store("trusted.jks"), PW)
    assert contents.keys == []
    assert sorted((s.alias, s.kind) for s in contents.skipped) == [
        ("other ca", "trusted certificate"),
        ("peer", "trusted certificate"),
    ]


def test_three_certificate_chain(store):
    (key,) = read_keystore(store("chain.jks"), PW).keys
    assert subjects(key) == ["CN=leaf", "CN=Int", "CN=Root"]
    for cert, issuer in zip(key.chain, key.chain[1:], strict=False):
        cert.verify_directly_issued_by(issuer)
    assert spki(key.private_key) == spki(key.chain[0])


def test_pkcs12_with_two_keys_trusted_certificate_and_secret_key(store):
    contents = read_keystore(store("store.p12"), PW)
    assert contents.store_type == "PKCS#12"
    # cryptography's load_pkcs12 alone would return only the first key.
    assert [key.alias for key in contents.keys] == ["web key", "second"]
    assert [subjects(key) for key in contents.keys] == [["CN=Web Key"], ["CN=second"]]
    assert sorted((s.alias, s.kind) for s in contents.skipped) == [
        ("aes", "secret key"),
        ("outside", "trusted certificate"),
    ]


def test_pkcs12_chain_is_rebuilt_and_duplicate_trusted_root_is_skipped(store):
    contents = read_keystore(store("chain.p12"), PW)
    (key,) = contents.keys
    assert subjects(key) == ["CN=leaf", "CN=Int", "CN=Root"]
    assert [(s.alias, s.kind) for s in contents.skipped] == [("rootca", "trusted certificate")]


def test_jceks_with_secret_key(store):
    contents = read_keystore(store("store.jceks"), PW)
    assert contents.store_type == "JCEKS"
    assert [key.alias for key in contents.keys] == ["jce"]
    assert [(s.alias, s.kind) for s in contents.skipped] == [("aes", "secret key")]


@pytest.mark.parametrize("name", ["rsa.jks", "store.p12", "store.jceks"])
def test_wrong_password(store, name):
    with pytest.raises(KeystoreError, match=r"^The keystore password is incorrect"):
        read_keystore(store(name), "wrong password")


def test_kdf_iteration_budget(store, monkeypatch):
    monkeypatch.setattr(keystores.java, "MAX_KDF_ITERATIONS", 20_000)
    monkeypatch.setattr(keystores.pkcs12, "MAX_KDF_ITERATIONS", 20_000)
    for name in ("store.p12", "store.jceks"):  # 10,000 per PKCS#12 item, 200,000 per JCEKS key
        with pytest.raises(KeystoreError, match="key-derivation iterations"):
            read_keystore(store(name), PW)


@pytest.mark.parametrize(
    ("name", "alias", "limit"), [("rsa4096.jks", "big", 2048), ("store.p12", "web key", 1024)]
)
def test_rsa_size_guard_comes_before_validation(store, monkeypatch, name, alias, limit):
    monkeypatch.setattr(keystores.common, "MAX_RSA_BITS", limit)
    with pytest.raises(KeystoreError, match=rf"^The private key '{alias}' is an RSA key larger"):
        read_keystore(store(name), PW)


def test_openssl_pkcs12_without_friendly_names(workdir):
    openssl_cert("solo", workdir)
    export = "openssl pkcs12 -export -inkey solo.key -in solo.pem -out solo.p12"
    run(*shlex.split(export), "-passout", f"pass:{PW}", cwd=workdir)
    contents = read_keystore((workdir / "solo.p12").read_bytes(), PW)
    assert [(key.alias, subjects(key)) for key in contents.keys] == [("1", ["CN=solo"])]
    assert contents.skipped == []


# --- exported stores ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def entries(store) -> list[KeyEntry]:
    three = {key.alias: key for key in read_keystore(store("three.jks"), PW).keys}
    (chained,) = read_keystore(store("chain.jks"), PW).keys
    return [
        entry_of(three["my server key"], "My Server Key"),
        entry_of(three["second"]),
        entry_of(chained, "Chained"),
    ]


def test_write_jks_is_listed_by_keytool(entries, workdir):
    (workdir / "out.jks").write_bytes(write_jks(entries, "s3cret pw"))
    listing = keytool("-list", "-keystore", "out.jks", "-storepass", "s3cret pw", cwd=workdir)
    for alias in ("my server key", "second", "chained"):
        assert re.search(rf"^{alias}, .*PrivateKeyEntry", listing, re.MULTILINE), listing
    assert "My Server Key" not in listing


def test_write_jks_keys_recovered_by_keytool_and_openssl(entries, workdir):
    (workdir / "conv.jks").write_bytes(write_jks(entries, PW))
    keytool(*importkeystore("conv.jks", "conv.p12"), cwd=workdir)
    pem = run(*OPENSSL_PKCS12, "conv.p12", cwd=workdir)
    blocks = re.findall(r"-----BEGIN ([A-Z ]+)-----.*?-----END \1-----", pem, re.DOTALL)
    texts = re.findall(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", pem, re.DOTALL)
    keys = [
        serialization.load_pem_private_key(t.encode(), None)
        for kind, t in zip(blocks, texts, strict=True)
        if kind == "PRIVATE KEY"
    ]
    certs = [
        x509.load_pem_x509_certificate(t.encode())
        for kind, t in zip(blocks, texts, strict=True)
        if kind == "CERTIFICATE"
    ]
    assert len(keys) == 3
    for entry in entries:
        original = serialization.load_der_private_key(entry.key_pkcs8_der, None)
        assert spki(original) in {spki(key) for key in keys}
        leaf = x509.load_der_x509_certificate(entry.chain_der[0])
        assert spki(original) == spki(leaf)
        assert leaf in certs


def test_write_jks_read_keystore_round_trip(entries):
    contents = read_keystore(write_jks(entries, PW), PW)
    assert [key.alias for key in contents.keys] == ["my server key", "second", "chained"]
    for entry, key in zip(entries, contents.keys, strict=True):
        assert entry_of(key, entry.alias) == entry


def test_write_jks_rejects_aliases_equal_but_for_case(entries):
    with pytest.raises(KeystoreError, match="same alias"):
        write_jks([entries[0], dataclasses.replace(entries[1], alias="MY SERVER KEY")], PW)


def test_write_pkcs12_is_read_by_openssl_keytool_and_read_keystore(entries, workdir):
    (workdir / "out.p12").write_bytes(write_pkcs12([entries[2]], PW))
    info = run(*OPENSSL_PKCS12, "out.p12", "-info", cwd=workdir)
    assert "MAC: sha256" in info
    assert info.count("PBES2, PBKDF2, AES-256-CBC") == 1  # the key bag
    assert "PKCS7 Encrypted data" not in info  # certificates are public (docs/decisions.md)
    assert "friendlyName: Chained" in info
    listing = keytool("-list", "-v", *opts("out.p12", "PKCS12"), cwd=workdir)
    assert "Entry type: PrivateKeyEntry" in listing
    assert "Certificate chain length: 3" in listing
    (key,) = read_keystore(write_pkcs12([entries[2]], PW), PW).keys
    assert entry_of(key) == entries[2]


def _indefinite(tag: int, *parts: bytes) -> bytes:
    return bytes([tag, 0x80]) + b"".join(parts) + b"\0\0"


def as_windows_ber(der: bytes) -> bytes:
    """The same PFX in BER as Windows writes it: indefinite lengths and the AuthenticatedSafe's
    OCTET STRING in 1000-byte segments (the MAC covers the octets, so it still verifies)."""
    walk = ber.Walker(max_elements=100, max_depth=8)
    version, auth_safe, mac = walk.children(walk.element(der), limit=3, what="fields")
    content_type, explicit = walk.children(auth_safe, limit=2, what="fields")
    octets = walk.octets(walk.only_child(explicit))
    segments = [b"\x04\x82" + len(c).to_bytes(2, "big") + c for c in _chunks(octets, 1000)]
    content = _indefinite(0xA0, _indefinite(0x24, *segments))
    return _indefinite(
        0x30, version.encoded, _indefinite(0x30, content_type.encoded, content), mac.encoded
    )


def _chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


# cryptography 50 warns that it reads BER PKCS#12 "for now"; the layout scan reads it anyway.
@pytest.mark.filterwarnings("ignore:PKCS#12 bundle could not be parsed as DER")
def test_pkcs12_in_indefinite_length_ber_is_read(entries):
    ber_p12 = as_windows_ber(write_pkcs12([entries[2]], PW))

    (key,) = read_keystore(ber_p12, PW).keys

    assert key.alias == "Chained"


def test_write_pkcs12_holds_every_key_and_needs_one(entries):
    contents = read_keystore(write_pkcs12(entries, PW), PW)

    assert [key.alias for key in contents.keys] == [entry.alias for entry in entries]
    for entry, key in zip(entries, contents.keys, strict=True):
        assert entry_of(key, entry.alias) == entry
    assert contents.skipped == []
    with pytest.raises(KeystoreError, match="no key to write"):
        write_pkcs12([], PW)


def test_private_key_entry_without_chain():
    key = ec.generate_private_key(ec.SECP256R1())
    pkcs8 = key.private_bytes(DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    entry = jks.PrivateKeyEntry.new("lonely", [], pkcs8)
    with pytest.raises(KeystoreError, match=r"^The private key 'lonely' has no certificate chain"):
        read_keystore(jks.KeyStore.new("jks", [entry]).saves(PW), PW)


def test_private_key_not_matching_the_chain(entries):
    mismatched = KeyEntry("odd", entries[1].key_pkcs8_der, entries[0].chain_der)
    with pytest.raises(KeystoreError) as raised:
        read_keystore(write_jks([mismatched], PW), PW)
    assert str(raised.value) == keystores.KEY_MISMATCH
    assert keystores.KEY_MISMATCH == (
        "The private key does not match the certificate chain in the keystore."
    )


# --- bad files ------------------------------------------------------------------------------


def first_key_offsets(data: bytes) -> tuple[int, int, int]:
    """Offsets of the key length, chain length and first certificate length of entry 1."""
    pos = 12 + 4  # header, tag
    pos += 2 + struct.unpack_from(">H", data, pos)[0] + 8  # alias, timestamp
    key_length = pos
    pos += 4 + struct.unpack_from(">I", data, pos)[0]
    chain_length = pos
    pos += 4
    pos += 2 + struct.unpack_from(">H", data, pos)[0]  # "X.509"
    return key_length, chain_length, pos


def patched(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


def flipped(data: bytes, offset: int) -> bytes:
    return patched(data, offset, bytes([data[offset] ^ 0x40]))


GIGA = struct.pack(">I", 1 << 30)
TOO_LARGE = "The keystore file is larger than the 1 MiB limit."


def bad_files(store) -> dict[str, tuple[bytes, str]]:
    jks_data, p12 = store("rsa.jks"), store("store.p12")
    key_at, chain_at, cert_at = first_key_offsets(jks_data)
    der_cert = x509.load_pem_x509_certificate(store("outside.pem")).public_bytes(DER)
    return {
        "empty": (b"", keystores.EMPTY),
        "too large": (b"\xfe\xed\xfe\xed" + bytes(keystores.MIB), TOO_LARGE),
        "random": (random.Random(7).randbytes(4096), keystores.NOT_A_KEYSTORE),
        "pem": (store("outside.pem"), keystores.PEM_FILE),
        "der certificate": (der_cert, keystores.NOT_A_KEYSTORE),
        "truncated jks": (jks_data[: len(jks_data) // 2], keystores.DAMAGED),
        "jks without end of hash": (jks_data[:-5], keystores.DAMAGED),
        "jks header only": (jks_data[:6], keystores.DAMAGED),
        "tampered jks": (flipped(jks_data, cert_at + 100), keystores.BAD_PASSWORD),
        "tampered jks key": (flipped(jks_data, key_at + 100), keystores.BAD_PASSWORD),
        "jks count 1 GiB": (patched(jks_data, 8, GIGA), "more than 1000 entries"),
        "jks key length 1 GiB": (patched(jks_data, key_at, GIGA), keystores.DAMAGED),
        "jks chain length 1 GiB": (patched(jks_data, chain_at, GIGA), keystores.DAMAGED),
        "jks cert length 1 GiB": (patched(jks_data, cert_at, GIGA), keystores.DAMAGED),
        "jks unknown tag": (patched(jks_data, 12, b"\0\0\0\x09"), keystores.DAMAGED),
        "truncated p12": (p12[: len(p12) // 2], keystores.NOT_A_KEYSTORE),
        "tampered p12 mac": (flipped(p12, len(p12) - 30), keystores.BAD_PASSWORD),
        "ber length 4 GiB": (b"\x30\x84\xff\xff\xff\xff" + bytes(64), keystores.NOT_A_KEYSTORE),
        "deep nesting": (b"\x30\x80" * 50_000, keystores.TOO_DEEP.format(limit=32)),
    }


BAD_FILE_NAMES = [
    "empty", "too large", "random", "pem", "der certificate", "truncated jks",
    "jks without end of hash", "jks header only", "tampered jks", "tampered jks key",
    "jks count 1 GiB", "jks key length 1 GiB", "jks chain length 1 GiB", "jks cert length 1 GiB",
    "jks unknown tag", "truncated p12", "tampered p12 mac", "ber length 4 GiB", "deep nesting",
]  # fmt: skip


@pytest.mark.parametrize("name", BAD_FILE_NAMES)
def test_bad_file_gives_keystore_error_without_a_large_allocation(store, name):
    """A 1 GiB claim in a header must not make the reader allocate it (memory, not time, is
    asserted: speed belongs to the benchmarks)."""
    data, message = bad_files(store)[name]
    tracemalloc.start()
    try:
        with pytest.raises(KeystoreError) as raised:
            read_keystore(data, PW)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert message in str(raised.value)
    assert peak < 64 * 1024 * 1024


def test_bad_file_names_cover_all_cases(store):
    assert sorted(BAD_FILE_NAMES) == sorted(bad_files(store))


def test_huge_entry_count_past_the_entry_limit_is_still_a_keystore_error(store):
    data = patched(store("rsa.jks"), 8, GIGA)
    with pytest.raises(KeystoreError, match=keystores.DAMAGED):
        read_keystore(data, PW, max_entries=1 << 31)


def test_size_limit_message_follows_max_bytes():
    with pytest.raises(KeystoreError, match="larger than the 4 KiB limit"):
        read_keystore(bytes(4097), PW, max_bytes=4096)


def test_the_pkcs12_mac_is_the_one_cryptography_computes(entries):
    """write_pkcs12's MAC (pyjks' PKCS#12 key derivation + HMAC-SHA256) against a file that
    cryptography wrote with OpenSSL's: recomputed over its AuthenticatedSafe, it is the same."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import pkcs12
    from pyasn1.codec.der import decoder
    from pyasn1.type import univ
    from pyasn1_modules import rfc7292

    from certadmin.keystores.pkcs12 import mac_sha256

    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(2000)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(PW.encode())
    )
    key = serialization.load_der_private_key(entries[2].key_pkcs8_der, None)
    theirs = pkcs12.serialize_key_and_certificates(b"x", key, None, None, encryption)
    pfx, _ = decoder.decode(theirs, asn1Spec=rfc7292.PFX())
    auth_safe, _ = decoder.decode(bytes(pfx["authSafe"]["content"]), asn1Spec=univ.OctetString())
    mac = pfx["macData"]

    ours = mac_sha256(bytes(auth_safe), PW, bytes(mac["macSalt"]), int(mac["iterations"]))

    assert ours == bytes(mac["mac"]["digest"])
    assert mac_sha256(bytes(auth_safe), PW + "x", bytes(mac["macSalt"]), 2048) != ours
