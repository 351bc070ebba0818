"""Keep torch and sentence-transformers out of a serving process.

Haystack imports torch whenever it is installed (``haystack.utils.device`` tries it eagerly and only
defers the error when it is missing), so a web worker that never runs torch would still carry it: about
a second of start-up and several hundred MB per process. ``kb serve`` embeds queries with ONNX Runtime
(``index.embedding.onnx_encoder.OnnxQueryEncoder``) and uses no other torch model unless a cross-encoder
is configured, so it calls :func:`forbid` before the app is imported: an import of ``torch`` or
``sentence_transformers`` then fails as if they were not installed, which Haystack handles. What really
needs torch (the query encoder's torch fallback for a generation built without an exported graph) calls
:func:`allow` first.

Usage::

    from index.embedding import no_torch
    no_torch.forbid()        # before importing haystack, the index or the web app
    ...
    no_torch.allow()         # before a fallback that needs torch
"""

from __future__ import annotations

import importlib.abc
import logging
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

logger = logging.getLogger(__name__)

FORBIDDEN = ("torch", "sentence_transformers")


class _Forbidden(importlib.abc.MetaPathFinder):
    """Refuses the forbidden packages (and their submodules) as if they were not installed."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> Any:
        if fullname.split(".", 1)[0] in FORBIDDEN:
            raise ModuleNotFoundError(f"No module named {fullname!r} (not loaded while serving: "
                                      "queries are embedded by ONNX Runtime)", name=fullname)
        return None


_FINDER = _Forbidden()


def forbid() -> bool:
    """Refuse imports of torch and sentence-transformers in this process from now on.

    :returns: False (and changes nothing) when one of them is already imported: too late to keep it out.
    """
    if any(name in sys.modules for name in FORBIDDEN):
        return False
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    return True


def allow(quietly: bool = False) -> None:
    """Let torch and sentence-transformers be imported again (a fallback that needs them; ``quietly`` when the
    server has stopped)."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
        if not quietly:
            logger.warning("torch is being loaded in a serving process (a query encoder fallback); see "
                           "`kb status`.")


def forbidden() -> bool:
    """Whether :func:`forbid` is in force."""
    return _FINDER in sys.meta_path
