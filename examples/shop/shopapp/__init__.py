"""A small shop: the example application used by `sluice demo` and the tests."""
