"""The test suite, a package: tests import helpers as `tests.<module>`; fixtures live in conftest.py."""
