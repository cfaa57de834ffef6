"""Section 5.13 "Testing your application": the CPWebCase example, run with pytest.

The example is extracted from the documentation, repaired where the PDF extraction broke
it, changed by ``as_drupe`` (``import drupe as cherrypy``, ``from drupe.test import
helper``), written to ``test_echo_app.py`` and run as the documentation says
(``py.test -s test_echo_app.py``) in a subprocess: both of its tests must pass.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from docs_support import TIMEOUT
from seed import as_drupe, drop_first_line, indent_lines, section

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("requires_http_server")]


def repaired_5_13() -> str:
    """The example, with the two places the PDF extraction broke put back.

    - ``setup_server = staticmethod(setup_server)`` is printed indented into the
      ``setup_server`` function, where it would make ``setup_server`` a local name read
      before assignment (``UnboundLocalError``); the documentation's source has it in the
      class body, one level out.
    - A page break falls inside ``test_non_utf8_message_will_fail``: the next page repeats
      the docstring's closing ``\"\"\"`` and prints the rest of the method's body without
      its indentation. The repeated quotes go and the body is indented back into the
      method.
    """
    part = section("5.13")
    head = indent_lines(part.block(0), "setup_server = staticmethod(",
                        "setup_server = staticmethod(", -4)
    tail = part.block(1)
    tail = drop_first_line(tail, '"""')
    tail = indent_lines(tail, "self.getPage(", None, 8)
    return head + tail


def test_5_13_testing_your_application(tmp_path: Path) -> None:
    command = section("5.13").block(2)
    assert command.startswith("$ py.test -s test_echo_app.py"), command
    module = tmp_path / "test_echo_app.py"
    module.write_text(as_drupe(repaired_5_13()), encoding="utf-8")
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nfilterwarnings = error\naddopts = -p no:cacheprovider\n", encoding="utf-8")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("DRUPE_DISABLE_PLUGIN_AUTOLOAD", None)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-s", "-v", "--rootdir", str(tmp_path), module.name],
        cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT * 4, env=env,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert re.search(r"\b2 passed\b", output), output
    for name in ("test_message_should_be_returned_as_is", "test_non_utf8_message_will_fail"):
        assert re.search(rf"{name} PASSED", output), output
