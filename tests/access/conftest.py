# The shared plant fixtures (plant, signal, down) live in tests/exceptions/conftest.py on this
# branch and in the root conftest once the kernel refactor (issue 9) is merged; order_change
# is in tests/workflows/conftest.py on both.
import contextlib

with contextlib.suppress(ImportError):  # merged: the root conftest provides them
    from tests.exceptions.conftest import down, fast_passwords, plant, signal  # noqa: F401
from tests.workflows.conftest import order_change  # noqa: F401
