"""`--db-password-file` as the settings read it: a file only its owner reads, one
line, never shown; every other file refused in one line that never holds the
password. (The real server with a real password-protected PostgreSQL:
tests/e2e/test_db_password_file.py.)"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from chatnut.install.team_service import refusal as refusal_of_unit
from chatnut.install.team_service import system_unit
from chatnut.settings import Settings, load_settings
from chatnut.store.location import printable

URL = "postgresql://app@127.0.0.1:5432/chat"
SECRET = "s3cret-Pa55word-abc"


def settings_with(path: Path, db: str = URL) -> Settings:
    return load_settings({"db": db, "db_password_file": str(path)}, {})


def private(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def refusal(path: Path, db: str = URL) -> str:
    with pytest.raises(ValueError) as caught:
        settings_with(path, db)
    message = str(caught.value)
    assert "\n" not in message and SECRET not in message
    assert message.startswith("--db-password-file: ")
    return message


def test_the_password_is_read_and_never_shown(tmp_path: Path) -> None:
    for mode in (0o600, 0o400):
        path = private(tmp_path / f"pw{mode:o}", SECRET + "\n", mode)
        settings = load_settings({}, {"CHATNUT_DB": URL, "CHATNUT_DB_PASSWORD_FILE": str(path)})
        assert settings.db_password == SECRET
        assert SECRET not in repr(settings)
        assert SECRET not in printable(settings.database)
    crlf = private(tmp_path / "crlf", SECRET + "\r\n")
    assert load_settings({"db": URL, "db_password_file": str(crlf)}, {}).db_password == SECRET


def test_a_link_inside_its_folder_is_followed_one_out_of_it_refused(tmp_path: Path) -> None:
    # A Kubernetes secret volume: password -> ..data/password -> ..2026_x/password.
    volume = tmp_path / "secret"
    (volume / "..2026_x").mkdir(parents=True)
    private(volume / "..2026_x" / "password", SECRET)
    (volume / "..data").symlink_to("..2026_x")
    (volume / "password").symlink_to("..data/password")
    assert settings_with(volume / "password").db_password == SECRET

    elsewhere = private(tmp_path / "elsewhere", SECRET)
    (volume / "out").symlink_to(elsewhere)
    assert "outside its folder" in refusal(volume / "out")


@pytest.mark.parametrize(
    ("content", "mode", "says"),
    [
        (SECRET, 0o644, "is readable by others (mode 0644); make it the owner's only: chmod 600"),
        (SECRET, 0o640, "is readable by others (mode 0640)"),
        ("", 0o600, "is empty"),
        ("\n", 0o600, "is empty"),
        (f"{SECRET}\nsecond", 0o600, "holds more than one line"),
        ("x" * 2000, 0o600, "is longer than 1024 bytes"),
    ],
)
def test_unsafe_or_malformed_files_are_refused(
    tmp_path: Path, content: str, mode: int, says: str
) -> None:
    path = private(tmp_path / "pw", content, mode)
    assert says in refusal(path)


def test_other_owners_other_kinds_and_other_databases_are_refused(tmp_path: Path) -> None:
    assert "does not exist" in refusal(tmp_path / "missing")
    folder = tmp_path / "folder"
    folder.mkdir(mode=0o700)
    assert "is not a regular file" in refusal(folder)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    assert "is not a regular file" in refusal(fifo)  # and never blocks on it
    path = private(tmp_path / "pw", SECRET)
    if os.geteuid() == 0:
        os.chown(path, pwd.getpwnam("nobody").pw_uid, -1)
        assert "belongs to uid" in refusal(path)
        os.chown(path, 0, -1)
    assert "for a postgresql:// --db" in refusal(path, db=str(tmp_path / "chat.db"))
    inline = "postgresql://app:other@127.0.0.1:5432/chat"
    assert "holds a password already" in refusal(path, db=inline)
    assert "holds a password already" in refusal(path, db=URL + "?password=other")


def test_a_team_service_unit_keeps_the_files_path_not_the_password(tmp_path: Path) -> None:
    path = private(tmp_path / "pw", SECRET)
    settings = settings_with(path)
    unit = system_unit(settings, "/opt/chatnut/bin/python", {}, "chat", None)
    assert f'"CHATNUT_DB_PASSWORD_FILE={path}"' in unit
    assert SECRET not in unit and refusal_of_unit(settings, None) is None
