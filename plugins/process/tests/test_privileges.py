"""DropPrivileges: settings by name or number, and a real switch in a subprocess (root)."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys

import pytest

import drupe
from drupe_process import DropPrivileges, PrivilegeError

pytestmark = pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX users only")
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def test_it_runs_after_the_server_binds() -> None:
    assert DropPrivileges.start.priority == 77  # type: ignore[attr-defined]
    assert drupe.server.start.priority == 75  # type: ignore[attr-defined]


def test_names_and_numbers() -> None:
    nobody = pwd.getpwnam("nobody")
    plugin = DropPrivileges(drupe.Bus(), uid="nobody", gid=0, umask="027")
    assert (plugin.uid, plugin.gid, plugin.umask) == (nobody.pw_uid, 0, 0o027)
    plugin.uid = str(nobody.pw_uid)
    assert plugin.uid == nobody.pw_uid


@pytest.mark.parametrize(("attribute", "value", "message"), [
    ("uid", "no-such-user-x", "no user named 'no-such-user-x'"),
    ("gid", "no-such-group-x", "no group named 'no-such-group-x'"),
    ("uid", -1, "expected a name or a number"),
    ("umask", "99", "not an octal number"),
    ("umask", 0o1777, "between 0 and 0o777"),
])
def test_bad_values_are_config_errors_naming_the_key(attribute: str, value: object, message: str) -> None:
    plugin = DropPrivileges(drupe.Bus())
    with pytest.raises(drupe.ConfigError, match=f"engine.drop_privileges.{attribute}.*{message}"):
        setattr(plugin, attribute, value)


def test_config_keys_reach_the_engine_plugin() -> None:
    drupe.config.update({"engine.drop_privileges.umask": 0o022})
    assert drupe.engine.drop_privileges.umask == 0o022
    with pytest.raises(drupe.ConfigError, match="no user named"):
        drupe.config.update({"engine.drop_privileges.uid": "no-such-user-x"})


def test_no_ids_keeps_the_user_and_sets_the_umask() -> None:
    bus = drupe.Bus()
    previous = os.umask(0o022)
    try:
        plugin = DropPrivileges(bus, umask=0o077)
        plugin.start()
        assert os.umask(0o022) == 0o077
        assert plugin.finalized
    finally:
        os.umask(previous)


SWITCH = """
import os, sys, drupe
from drupe_process import DropPrivileges
bus = drupe.Bus()
DropPrivileges(bus, uid=sys.argv[1]).subscribe()
bus.start()
try:
    os.setuid(0)
    regained = True
except PermissionError:
    regained = False
print(os.getuid(), os.geteuid(), os.getgid(), os.getgroups(), regained)
bus.exit()
"""


@pytest.mark.skipif(not ROOT, reason="switching users needs root")
def test_root_becomes_nobody_for_good() -> None:
    nobody = pwd.getpwnam("nobody")
    done = subprocess.run([sys.executable, "-c", SWITCH, "nobody"], capture_output=True, text=True,
                          timeout=60, check=True)
    uid, euid, gid, *_, regained = done.stdout.split()
    assert (int(uid), int(euid), int(gid)) == (nobody.pw_uid, nobody.pw_uid, nobody.pw_gid)
    assert regained == "False"


NOT_ROOT = """
import os, sys, drupe
from drupe_process import DropPrivileges, PrivilegeError
os.setgid(65534); os.setuid(65534)
bus = drupe.Bus()
plugin = DropPrivileges(bus, uid=0)
try:
    plugin.start()
except PrivilegeError as exc:
    print("refused:", exc)
"""


@pytest.mark.skipif(not ROOT, reason="needs root to become another user first")
def test_a_process_that_is_not_root_cannot_switch() -> None:
    done = subprocess.run([sys.executable, "-c", NOT_ROOT], capture_output=True, text=True, timeout=60,
                          check=True, cwd="/")
    assert "refused: Cannot switch to uid 0" in done.stdout
    assert PrivilegeError.startup_error
