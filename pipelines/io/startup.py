"""I/O: start-up costs a command can skip.

pyarrow asks "is pandas installed?" the first time it converts any Python value, and
answers by importing pandas: one second here, for commands that never touch pandas.
"""

from __future__ import annotations

import sys


def skip_pandas_probe() -> None:
    """Lets pyarrow's first conversion find no pandas, without importing it.

    pyarrow then treats no value as a pandas object; an explicit pandas conversion
    (``to_pandas``) still imports pandas, since pyarrow retries the import there. Only
    for commands that hand pyarrow no pandas objects: ``ogp check``, and ``ogp run``
    without Prefect (pandas there is great-expectations', which gives pyarrow no frame).
    """
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    sys.meta_path.insert(0, _NoPandas)  # "import pandas" fails, once
    try:
        pa.scalar(0)
    finally:
        sys.meta_path.remove(_NoPandas)


class _NoPandas:
    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
