"""The open-data pipeline of France's OGP action plan: gather, validate, publish."""

import os

# Arrow allocates through mimalloc, which by default keeps freed pages for a while before
# giving them back: batch after batch of a large file, the process then holds several
# hundred MB it no longer uses (426 MB instead of 333 MB to check a million rows here,
# for the same time). Read by mimalloc when pyarrow loads, so set before any import of it.
os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")
