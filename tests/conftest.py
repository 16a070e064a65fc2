"""Shared fixtures: a tiny valid city for bad-input tests and the demo city in a real store."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

import perfkit
from perfkit.datasets import write_csv

TEST_DATA = Path(__file__).parent / "data"

# The library's tests read its problems in English (str() of a DataError speaks $PERFKIT_LANG, Chinese by
# default); the command line's own tests choose their language with --lang, and test_problems.py checks both.
os.environ["PERFKIT_LANG"] = "en"


def tiny_tables() -> dict[str, pd.DataFrame]:
    """The smallest valid city: two units, one direction, two indicators, one project."""
    return {
        "units": pd.DataFrame({"unit_id": ["U1", "U2"], "name": ["市教育局", "市第一中学"], "level": [1, 2],
                               "parent_id": [None, "U1"], "field": ["education", "education"]}),
        "directions": pd.DataFrame({"direction_id": ["D1"], "category": ["教育"], "subcategory": ["义务教育"],
                                    "name": ["生均公用经费"], "output_unit": ["人"]}),
        "indicators": pd.DataFrame({"indicator_id": ["I1", "I2"], "direction": ["D1", "D1"],
                                    "level1": ["产出", "满意度"], "level2": ["数量", "服务对象满意度"],
                                    "name": ["在校学生数量", "服务对象满意度"], "measure_unit": ["人", "%"],
                                    "polarity": ["positive", "positive"],
                                    "value_type": ["quantitative", "quantitative"]}),
        "projects": pd.DataFrame({"project_id": ["P1"], "program_id": ["G1"], "unit_id": ["U2"],
                                  "name": ["生均公用经费项目"], "year": [2025], "budget_type": ["general"],
                                  "direction": ["D1"], "category": ["regular"], "is_new": [False],
                                  "start_date": [pd.Timestamp("2025-01-01")],
                                  "end_date": [pd.Timestamp("2025-12-31")]}),
        "budgets": pd.DataFrame({"project_id": ["P1"], "year": [2025], "amount": [1_000_000.0],
                                 "adjusted_amount": [None]}),
        "execution": pd.DataFrame({"project_id": ["P1", "P1"],
                                   "month": [pd.Timestamp("2025-01-31"), pd.Timestamp("2025-02-28")],
                                   "spent_cumulative": [50_000.0, 120_000.0]}),
        "targets": pd.DataFrame({"project_id": ["P1", "P1"], "indicator_id": ["I1", "I2"],
                                 "target_value": [1500.0, 90.0], "target_text": [None, None]}),
        "actuals": pd.DataFrame({"project_id": ["P1", "P1"], "indicator_id": ["I1", "I2"],
                                 "actual_value": [1480.0, 93.0], "grade": [None, None],
                                 "as_of": [pd.Timestamp("2025-12-31")] * 2}),
    }


def write_tables(directory: Path, frames: dict[str, pd.DataFrame]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        write_csv(frame, directory / f"{name}.csv")
    return directory


@pytest.fixture
def tiny_dir(tmp_path) -> Path:
    return write_tables(tmp_path / "tiny", tiny_tables())


@pytest.fixture(scope="session")
def demo_frames() -> dict[str, pd.DataFrame]:
    return perfkit.datasets.make_demo(seed=0)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory, demo_frames) -> Path:
    directory = tmp_path_factory.mktemp("demo")
    return write_tables(directory, demo_frames)


@pytest.fixture(scope="session")
def demo_store_path(tmp_path_factory, demo_dir) -> Path:
    """A file store holding the demo city, loaded through the CSV path a user takes, with its quota standards
    (as `perfkit demo` writes them). Shared by the session's tests: read only from here on (a test that writes
    copies it, :func:`writable_store`), since a report names its store's snapshot and the reports of
    :func:`job_reports` are compared with every worker's own copy of this store."""
    from perfkit.quota import build_all_standards

    path = tmp_path_factory.mktemp("store") / "perfkit.duckdb"
    with perfkit.Store(path) as store:
        store.load(demo_dir)
        build_all_standards(store).to_store(store)
    return path


@pytest.fixture
def writable_store(demo_store_path, tmp_path) -> Path:
    """A copy of the demo store for a test that writes to it."""
    import shutil

    path = tmp_path / "writable" / "perfkit.duckdb"
    path.parent.mkdir()
    shutil.copyfile(demo_store_path, path)
    return path


@pytest.fixture
def demo_store(demo_store_path):
    with perfkit.Store(demo_store_path, read_only=True) as store:
        yield store


def pick_subjects(store) -> dict[str, dict]:
    """One subject of each report job in the demo city."""
    pick = lambda sql: store.query(sql).iloc[0, 0]  # noqa: E731
    return {
        "project-overview": {"project_id": pick("SELECT min(project_id) FROM projects WHERE year = 2025")},
        "key-evaluation": {"project_id": pick("SELECT min(project_id) FROM expert_scores")},
        "self-evaluation": {"unit_id": pick("SELECT min(unit_id) FROM units WHERE level = 1"), "year": 2025},
        "department-evaluation": {"unit_id": pick("SELECT min(unit_id) FROM units WHERE level = 1"), "year": 2025},
        "department-targets": {"unit_id": pick("SELECT min(unit_id) FROM units WHERE level = 1"), "year": 2026},
        "ex-ante": {"request_id": pick("SELECT min(request_id) FROM requests")},
        "monitoring": {"as_of": "2026-08-31", "unit": "all"},
        "quota-standards": {"direction": pick("SELECT min(direction) FROM cost_records")},
        "portrait": {"unit": pick("SELECT min(unit_id) FROM projects WHERE project_id IN "
                                  "(SELECT project_id FROM expert_scores) AND year = 2025"), "years": "2024-2025"},
        "comparison": {"field": "agriculture", "years": "2024-2025"},
        "problem-cases": {"year": "2025"},
    }


class JobReports(dict):
    """The reports of :func:`job_reports` by (job, lang), and the store they were made from (``store``): under
    xdist, another worker's copy of the demo city, whose file is not byte for byte this worker's."""

    store: Path


def _make_job_reports(store_path, out: Path) -> JobReports:
    """One report of each job: in Chinese as HTML, PDF and Word, in English as HTML; run as two batches."""
    from perfkit.cli import main
    from perfkit.reports import run_batch
    out.mkdir(parents=True, exist_ok=True)
    with perfkit.Store(store_path, read_only=True) as store:
        subjects = pick_subjects(store)
    batch = [(job, {**parameters, "store": str(store_path)}) for job, parameters in subjects.items()]
    reports = JobReports()
    reports.store = Path(store_path)
    for lang, formats in (("zh", "html,pdf,docx"), ("en", "html")):
        outcomes = run_batch(batch, output_dir=out / lang, lang=lang, max_workers=2, formats=formats)
        for (job, _), outcome in zip(batch, outcomes):
            assert not isinstance(outcome, Exception), outcome
            reports[job, lang] = outcome
    return reports


@pytest.fixture(scope="session")
def job_reports(demo_store_path, tmp_path_factory):
    """One report of each job (:func:`_make_job_reports`), made once per run: under ``pytest -n`` (xdist) the
    first worker that asks makes them, under a file lock in the run's shared folder, and the others read them
    (the demo city is the same in every worker)."""
    import fcntl
    import pickle

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _make_job_reports(demo_store_path, tmp_path_factory.mktemp("job_reports"))
    shared = tmp_path_factory.getbasetemp().parent        # pytest-N/, above each worker's popen-gwK/
    with open(shared / "job_reports.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        made = shared / "job_reports.pickle"
        if made.exists():
            return pickle.loads(made.read_bytes())
        reports = _make_job_reports(demo_store_path, shared / "job_reports")
        made.write_bytes(pickle.dumps(reports))
        return reports
