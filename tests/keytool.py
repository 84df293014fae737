"""Java's keytool as the other side of keystore tests."""

import subprocess
from pathlib import Path

PASSWORD = "changeit-123"


def keytool(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        ["keytool", "-J-Xshare:auto", "-J-XX:TieredStopAtLevel=1", *args],
        cwd=cwd, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise AssertionError(f"keytool {' '.join(args)} failed: {result.stdout}{result.stderr}")
    return result.stdout


def genkey(
    cwd: Path, store: str, alias: str, *extra: str, storetype: str = "JKS",
    password: str = PASSWORD,
) -> Path:  # fmt: skip
    algorithm = [] if "-keyalg" in extra else ["-keyalg", "RSA", "-keysize", "2048"]
    keytool(
        "-genkeypair", "-alias", alias, "-dname", f"CN={alias}, O=Keytool Test", "-validity", "90",
        "-keystore", store, "-storetype", storetype, "-storepass", password, *algorithm, *extra,
        cwd=cwd,
    )  # fmt: skip
    return cwd / store
