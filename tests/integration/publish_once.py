"""One publication of a dataset without Prefect, as a process a test can kill.

``python -m tests.integration.publish_once DATASETS_DIR OUT [SLUG]``
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipelines.build.tables import build_tables
from pipelines.core.config import Settings, load_dataset
from pipelines.core.schema import load_schema
from pipelines.gather.plan.records import gather_plan_records
from pipelines.validate.package import validate_datapackage
from publish.release import ReleaseResult, release_dataset


def publish_plan(
    datasets_dir: Path,
    out: Path,
    slug: str = "plan-action-pgo-2021-2023",
    base_url: str = "http://127.0.0.1:8000/",
) -> ReleaseResult:
    settings = Settings(datasets_dir=datasets_dir)
    config = load_dataset(datasets_dir / slug)
    schemas = {t: load_schema(settings.schemas_dir, t) for t in config.tables}
    tables = build_tables(gather_plan_records(config), schemas)
    return release_dataset(out, config, schemas, tables, validate_datapackage, base_url=base_url)


if __name__ == "__main__":
    result = publish_plan(Path(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:4])
    print(result.version, result.published)
