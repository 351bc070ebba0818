"""The run report read back as a typed record: what `kb status` and the web app's warnings read."""

from index.records import RunRecord, SetupUse
from index.storage.local.datadir import DataDir


def test_a_current_report_reads_into_its_record_and_back_to_the_status_shape(tmp_path):
    report = {"kind": "reindex", "run_id": "20260101T000000", "generation": "g1", "published": True,
              "failures": [{"path": "a.pdf", "reason": "broken", "action": "replace it"}],
              "gate": {"status": "passed", "reason": ""},
              "setup": {"catalogue": {"path": "/x/projects.yaml", "found": "configured", "entries": 36},
                        "canaries": {"path": None, "found": "switched off by an empty setting", "entries": 0}}}
    backend = DataDir(tmp_path)
    backend.write_run_report("20260101T000000", report)
    record = backend.last_run()
    assert record == RunRecord("20260101T000000", "reindex", "g1", True, 1, "passed",
                               SetupUse("/x/projects.yaml", "configured", 36),
                               SetupUse(None, "switched off by an empty setting", 0))
    assert record.status_dict() == {"run_id": "20260101T000000", "kind": "reindex", "published": True,
                                    "failed_files": 1, "gate": "passed",
                                    "catalogue": report["setup"]["catalogue"], "canaries": report["setup"]["canaries"]}


def test_an_old_report_reads_with_defaults(tmp_path):
    record = RunRecord.from_dict({"run_id": "r", "generation": None, "failures": []})
    assert (record.kind, record.published, record.gate, record.catalogue) == ("ingest", False, None, None)
    assert DataDir(tmp_path).last_run() is None
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "r.json").write_text("not json", encoding="utf-8")
    assert DataDir(tmp_path).last_run() is None
