"""tessera-proxy system tests (a package, so that this directory's conftest
does not shadow tests/system/conftest.py as the module `conftest`)."""
