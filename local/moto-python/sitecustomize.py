"""Speeds moto_server up without changing what it answers (local/moto.ts puts this folder on
PYTHONPATH, so Python imports it at start-up).

Profiled under the drill (docs/benchmarks.md, "Drill"), moto spent about half its CPU building a
JSONPath parser: every event EventBridge delivers to a target runs eight `jsonpath_ng.ext.parse`
calls for the default input template, and each call builds a new PLY lexer and LALR parser
(validating them by reading their Python source). Another sixth went to listing moto's own
package folder once per request to route it. Both results never change while the server runs,
so they are computed once. Any failure here leaves moto as it was.
"""

import functools

try:
    import jsonpath_ng.ext as _jsonpath_ext

    _parse = _jsonpath_ext.parse

    @functools.lru_cache(maxsize=256)
    def _cached_parse(path, debug=False):
        return _parse(path, debug=debug)

    _jsonpath_ext.parse = _cached_parse
except Exception:  # noqa: BLE001 - an optional speed-up only
    pass

try:
    import moto.backends as _backends

    _modules = tuple(_backends.list_of_moto_modules())
    _backends.list_of_moto_modules = lambda: _modules
except Exception:  # noqa: BLE001 - an optional speed-up only
    pass
