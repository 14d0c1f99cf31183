"""Helpers shared by the tests and the benchmarks.

Conftest files hold fixtures only; whatever two test packages (or a test
package and ``benchmarks/``) both need lives here, and this package imports
nothing from the rest of ``tests``.
"""
