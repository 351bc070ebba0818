"""One module per format; importing this package registers them all (see :mod:`ingest.formats`)."""

import importlib
import pkgutil

from ingest.converters.base import FileConverter

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["FileConverter"]
